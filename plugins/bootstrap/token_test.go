package bootstrap

import (
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in    string
		forms TokenForms
		want  ParsedToken
	}{
		{"abcdef.0123456789abcdef", tokenOnly, ParsedToken{ID: "abcdef", Secret: "0123456789abcdef"}},
		{"K10" + hash + "::abcdef.0123456789abcdef", tokenOnly, ParsedToken{ID: "abcdef", Secret: "0123456789abcdef", CAHash: hash, Secure: true}},
		{"K10::abcdef.0123456789abcdef", tokenOnly, ParsedToken{ID: "abcdef", Secret: "0123456789abcdef", Secure: true}},
		{"abcdef", tokenOrID, ParsedToken{ID: "abcdef"}},
	} {
		got, err := ParseToken(tc.in, "x", tc.forms)
		if err != nil || got != tc.want {
			t.Errorf("ParseToken(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTokenRefusesMalformedWithoutEchoingThem(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		forms    TokenForms
	}{
		{"abcdef", "not a bootstrap token", tokenOnly},
		{"abcdef.0123456789abcdeX", "not a bootstrap token", tokenOrID},
		{"ABCDEF.0123456789abcdef", "not a bootstrap token", tokenOrID},
		{"abcdef.0123456789abcde", "not a bootstrap token", tokenOrID},
		{"abcdef:0123456789abcdef", "not a bootstrap token", tokenOrID},
		{" abcdef.0123456789abcdef", "not a bootstrap token", tokenOrID},
		{"K10abc::abcdef.0123456789abcdef", "invalid CA hash", tokenOrID},
		{"K10" + strings.Repeat("AB", 32) + "::abcdef.0123456789abcdef", "invalid CA hash", tokenOrID},
		{"K10" + strings.Repeat("ab", 32) + "::server:hunter2hunter2", "k3s server token", tokenOrID},
		{"K10" + strings.Repeat("ab", 32) + "abcdef.0123456789abcdef", "not a bootstrap token", tokenOrID},
		{"", "not a bootstrap token", tokenOrID},
	} {
		_, err := ParseToken(tc.in, "the argument", tc.forms)
		if err == nil {
			t.Errorf("ParseToken(%q): want an error", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseToken(%q) = %q, want it to say %q", tc.in, err, tc.want)
		}
		for _, secretish := range []string{"0123456789abcde", "hunter2"} {
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("ParseToken(%q) error echoes the input: %q", tc.in, err)
			}
		}
	}
}

func TestValidateUsagesAndGroups(t *testing.T) {
	ok := [][2][]string{
		{{"signing", "authentication"}, {"system:bootstrappers:kubeadm:default-node-token"}},
		{{"signing"}, nil},
		{{"authentication"}, {"system:bootstrappers:a", "system:bootstrappers:b-1:c"}},
	}
	for _, c := range ok {
		if err := ValidateUsagesAndGroups(c[0], c[1]); err != nil {
			t.Errorf("%v %v: %v", c[0], c[1], err)
		}
	}
	for _, tc := range []struct {
		usages, groups []string
		want           string
	}{
		{[]string{"signing", "bogus"}, nil, "invalid bootstrap token usage string: bogus, valid usage options: signing,authentication"},
		{[]string{"authentication"}, []string{"system:masters"}, `bootstrap group "system:masters" is invalid`},
		{[]string{"authentication"}, []string{"system:bootstrappers:"}, "is invalid"},
		{[]string{"authentication"}, []string{"system:bootstrappers:UPPER"}, "is invalid"},
		{[]string{"signing"}, []string{"system:bootstrappers:x"}, `token groups cannot be specified unless --usages includes "authentication"`},
	} {
		err := ValidateUsagesAndGroups(tc.usages, tc.groups)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.usages, tc.groups, err, tc.want)
		}
	}
}

func TestSecretsEqual(t *testing.T) {
	if !SecretsEqual("0123456789abcdef", "0123456789abcdef") || SecretsEqual("0123456789abcdef", "0123456789abcdee") || SecretsEqual("a", "") {
		t.Error("SecretsEqual is wrong")
	}
}
