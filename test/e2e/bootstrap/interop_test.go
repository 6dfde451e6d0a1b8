//go:build e2e

package bootstrap

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote/shelltest"
)

// Tokens we create are kubeadm's: kubeadm token list shows them (text and
// JSON) with the same TTL, usages, description and groups, and its JSON
// object for each is exactly ours with --show-secrets.
func TestOurTokensInKubeadmList(t *testing.T) {
	tok1, id1, _ := newToken(t)
	tok2, id2, _ := newToken(t)
	mustOK(t, bs("create", tok1, "--ttl", "2h", "--description", "rack 7 workers", "--groups", "system:bootstrappers:rack7,system:bootstrappers:e2e"), "create 1")
	mustOK(t, bs("create", tok2, "--ttl", "0", "--usages", "signing"), "create 2")

	kj := mustOK(t, kadm("token", "list", "-o", "json"), "kubeadm token list -o json")
	theirs := byID(t, kj.Stdout)
	ours := byID(t, mustOK(t, bs("list", "-o", "json", "--show-secrets"), "list -o json").Stdout)
	for _, id := range []string{id1, id2} {
		if theirs[id] == nil || ours[id] == nil {
			t.Fatalf("token %s missing: kubeadm %s / ours %s", id, kj.Stdout, ours[id])
		}
		// Ours is kubeadm's object plus the token's id.
		if _, oid := withoutID(t, ours[id]); !sameFields(t, theirs[id], ours[id]) || oid != id {
			t.Errorf("token %s:\nkubeadm: %s\nours:    %s", id, theirs[id], ours[id])
		}
	}
	var o1 bootstrapTokenJSON
	_ = json.Unmarshal(theirs[id1], &o1)
	if o1.Token != tok1 || o1.Description != "rack 7 workers" || o1.Expires == nil ||
		!slices.Equal(o1.Usages, []string{"authentication", "signing"}) ||
		!slices.Equal(o1.Groups, []string{"system:bootstrappers:rack7", "system:bootstrappers:e2e"}) {
		t.Errorf("kubeadm sees token 1 as %+v", o1)
	}
	var o2 bootstrapTokenJSON
	_ = json.Unmarshal(theirs[id2], &o2)
	if o2.Expires != nil || !slices.Equal(o2.Usages, []string{"signing"}) || o2.Groups != nil {
		t.Errorf("kubeadm sees token 2 (ttl 0, signing only, so no default group) as %+v", o2)
	}

	// Text: the same cells, except that kubeadm's TOKEN shows the secret.
	kt := textRows(mustOK(t, kadm("token", "list"), "kubeadm token list").Stdout)
	ot := textRows(mustOK(t, bs("list"), "list").Stdout)
	if got := strings.Join(ot[0], "|"); got != "TOKEN|TTL|EXPIRES|USAGES|DESCRIPTION|EXTRA GROUPS" {
		t.Errorf("our header %q", got)
	}
	for _, tc := range []struct{ id, tok string }{{id1, tok1}, {id2, tok2}} {
		k, o := rowFor(kt, tc.tok), rowFor(ot, tc.id)
		if k == nil || o == nil {
			t.Fatalf("row for %s: kubeadm %v, ours %v", tc.id, k, o)
		}
		if o[0] != tc.id || k[0] != tc.tok {
			t.Errorf("TOKEN cells: ours %q (want the ID only), kubeadm %q", o[0], k[0])
		}
		// kubeadm's <forever> and <never> are the plugins' one word, never.
		k = slices.Clone(k)
		for i, c := range k {
			if c == "<forever>" || c == "<never>" {
				k[i] = "never"
			}
		}
		if !slices.Equal(k[1:], o[1:]) {
			t.Errorf("token %s:\nkubeadm %q\nours    %q", tc.id, k[1:], o[1:])
		}
	}
	if r := rowFor(ot, id2); r[1] != "never" || r[2] != "never" || r[5] != "<none>" {
		t.Errorf("ttl 0 row: %q", r)
	}
}

// Tokens kubeadm creates are read by us exactly as kubeadm reads them.
func TestKubeadmTokensInOurList(t *testing.T) {
	tok, id, _ := newToken(t)
	mustOK(t, kadm("token", "create", tok, "--ttl", "3h", "--description", "made by kubeadm",
		"--groups", "system:bootstrappers:kubeadm:default-node-token,system:bootstrappers:extra"), "kubeadm token create")
	theirs := byID(t, mustOK(t, kadm("token", "list", "-o", "json"), "kubeadm list").Stdout)
	ours := byID(t, mustOK(t, bs("list", "-o", "json", "--show-secrets"), "list").Stdout)
	if _, oid := withoutID(t, ours[id]); !sameFields(t, theirs[id], ours[id]) || oid != id {
		t.Errorf("kubeadm: %s\nours:    %s", theirs[id], ours[id])
	}
	// YAML too: kubeadm's document for the token is ours without the id.
	ky := mustOK(t, kadm("token", "list", "-o", "yaml"), "kubeadm list yaml").Stdout
	oy := mustOK(t, bs("list", "-o", "yaml", "--show-secrets"), "list yaml").Stdout
	kd, od := yamlDocFor(ky, tok), yamlDocFor(oy, tok)
	if kd == "" || !strings.Contains(od, "\nid: "+id+"\n") || kd != strings.Replace(od, "\nid: "+id+"\n", "\n", 1) {
		t.Errorf("YAML differs:\nkubeadm:\n%s\nours:\n%s", kd, od)
	}
	// Without --show-secrets the secret is redacted everywhere.
	red := mustOK(t, bs("list", "-o", "yaml"), "list yaml").Stdout
	if strings.Contains(red, tok) || !strings.Contains(red, "token: "+id+".****************") {
		t.Errorf("redaction:\n%s", red)
	}
}

func yamlDocFor(out, token string) string {
	for _, doc := range strings.Split(out, "---\n") {
		if strings.Contains(doc, "token: "+token+"\n") {
			return doc
		}
	}
	return ""
}

// The Secret we write is the Secret kubeadm writes for the same request.
func TestOurSecretIsKubeadmsSecret(t *testing.T) {
	ktok, kid, _ := newToken(t)
	otok, oid, _ := newToken(t)
	args := []string{"--ttl", "90m", "--description", "same", "--groups", "system:bootstrappers:a,system:bootstrappers:b", "--usages", "signing,authentication"}
	mustOK(t, kadm(append([]string{"token", "create", ktok}, args...)...), "kubeadm create")
	mustOK(t, bs(append([]string{"create", otok}, args...)...), "create")
	ks, _ := getSecret(t, kid)
	ours, _ := getSecret(t, oid)
	if ks.Type != ours.Type || ks.Namespace != ours.Namespace || strings.TrimPrefix(ks.Name, "bootstrap-token-"+kid) != strings.TrimPrefix(ours.Name, "bootstrap-token-"+oid) {
		t.Errorf("kubeadm %s/%s %s, ours %s/%s %s", ks.Namespace, ks.Name, ks.Type, ours.Namespace, ours.Name, ours.Type)
	}
	if kk, ok := slices.Sorted(maps.Keys(ks.Data)), slices.Sorted(maps.Keys(ours.Data)); !slices.Equal(kk, ok) {
		t.Errorf("keys: kubeadm %v, ours %v", kk, ok)
	}
	rfc3339UTC := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	for k, kv := range ks.Data {
		ov := ours.Data[k]
		switch k {
		case "token-id", "token-secret":
		case "expiration":
			if !rfc3339UTC.Match(kv) || !rfc3339UTC.Match(ov) {
				t.Errorf("expiration: kubeadm %s, ours %s", kv, ov)
			}
		default:
			if string(kv) != string(ov) {
				t.Errorf("%s: kubeadm %q, ours %q", k, kv, ov)
			}
		}
	}
}

// kubeadm token delete removes ours; ours removes kubeadm's (by whole
// token, the form k3s once failed on), with kubeadm's message.
func TestDeleteInterop(t *testing.T) {
	otok, oid, _ := newToken(t)
	ktok, kid, _ := newToken(t)
	mustOK(t, bs("create", otok), "create")
	mustOK(t, kadm("token", "create", ktok), "kubeadm create")

	kd := mustOK(t, kadm("token", "delete", oid), "kubeadm token delete ours")
	if _, found := getSecret(t, oid); found {
		t.Errorf("kubeadm token delete left our token: %s", kd)
	}
	od := mustOK(t, bs("delete", ktok), "delete kubeadm's by whole token")
	if _, found := getSecret(t, kid); found {
		t.Errorf("our delete left kubeadm's token")
	}
	// Same words as kubeadm's own delete, for the respective IDs.
	if strings.ReplaceAll(kd.Stdout, oid, "ID") != strings.ReplaceAll(od.Stdout, kid, "ID") {
		t.Errorf("messages differ: kubeadm %q, ours %q", kd.Stdout, od.Stdout)
	}
	if lines := bs("list").Stdout; strings.Contains(lines, oid) || strings.Contains(lines, kid) {
		t.Errorf("deleted tokens still listed:\n%s", lines)
	}
}

// With the CA-embedding admin kubeconfig, our kubeadm join command has
// kubeadm's endpoint (less a trailing slash) and discovery hash; and its
// token authenticates.
func TestKubeadmJoinCommandEqualsKubeadms(t *testing.T) {
	k := mustOK(t, kadm("token", "create", "--print-join-command"), "kubeadm token create --print-join-command")
	kargv := shelltest.Argv(t, "", k.Stdout, "kubeadm")[1:]
	t.Cleanup(func() { deleteSecret(strings.SplitN(flagValue(kargv, "--token"), ".", 2)[0]) })

	o := mustOK(t, bs("create", "--print-join-command"), "create --print-join-command")
	if !strings.Contains(o.Stderr, "flavor kubeadm assumed: server version v1.36.3 is neither k3s nor rke2") {
		t.Errorf("stderr does not say how the flavor was chosen: %q", o.Stderr)
	}
	oargv := shelltest.Argv(t, "", o.Stdout, "kubeadm")[1:]
	id, _, _ := strings.Cut(flagValue(oargv, "--token"), ".")
	t.Cleanup(func() { deleteSecret(id) })

	// kubeadm copies the kubeconfig server's trailing "/" into the
	// endpoint (which kubeadm join then refuses); ours drops it.
	if kargv[0] != "join" || oargv[0] != "join" || strings.TrimSuffix(kargv[1], "/") != oargv[1] || strings.HasSuffix(oargv[1], "/") {
		t.Errorf("endpoint: kubeadm %q, ours %q", kargv[:2], oargv[:2])
	}
	if kh, oh := flagValues(kargv, "--discovery-token-ca-cert-hash"), flagValues(oargv, "--discovery-token-ca-cert-hash"); len(kh) == 0 || !slices.Equal(kh, oh) {
		t.Errorf("hashes: kubeadm %v, ours %v", kh, oh)
	}
	if len(oargv) != 6 {
		t.Errorf("our argv %q: want join ENDPOINT --token T --discovery-token-ca-cert-hash H", oargv)
	}
	v := mustOK(t, bs("verify", flagValue(oargv, "--token")), "verify the join token")
	if !strings.Contains(v.Stdout, "system:bootstrap:"+id) || !strings.Contains(v.Stdout, "system:bootstrappers:kubeadm:default-node-token") {
		t.Errorf("verify: %s", v.Stdout)
	}
}

func flagValue(argv []string, flag string) string {
	if v := flagValues(argv, flag); len(v) > 0 {
		return v[0]
	}
	return ""
}

func flagValues(argv []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == flag {
			out = append(out, argv[i+1])
		}
	}
	return out
}

// delete also takes the secure K10 form (the k3s full-token delete bug
// must not exist here).
func TestDeleteBySecureToken(t *testing.T) {
	sec := strings.TrimSpace(mustOK(t, bs("create", "-o", "secure"), "create -o secure").Stdout)
	id := sec[len(sec)-23 : len(sec)-17]
	t.Cleanup(func() { deleteSecret(id) })
	r := mustOK(t, bs("delete", sec), "delete K10 token")
	if r.Stdout != `bootstrap token "`+id+`" deleted`+"\n" {
		t.Errorf("delete: %q", r.Stdout)
	}
	if _, found := getSecret(t, id); found {
		t.Errorf("not deleted")
	}
}

// kubeadm's endpoint rule prefers a kubeconfig's unnamed cluster (its
// server and CA); ours follows it, so both print the same join command.
func TestJoinCommandUsesTheUnnamedClusterLikeKubeadm(t *testing.T) {
	kc, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	unnamed := clientcmdapi.NewCluster()
	unnamed.Server = "https://join.example.com:6443"
	unnamed.CertificateAuthorityData, err = os.ReadFile(filepath.Join(env.Root, "plugins", "bootstrap", "testdata", "bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	kc.Clusters[""] = unnamed
	path := filepath.Join(t.TempDir(), "unnamed.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	k := runner.Run(kubeadm, "token", "create", "--print-join-command", "--kubeconfig", path)
	if k.Code != 0 {
		t.Fatalf("kubeadm: %s", k)
	}
	kargv := shelltest.Argv(t, "", k.Stdout, "kubeadm")[1:]
	t.Cleanup(func() { deleteSecret(flagValue(kargv, "--token")[:6]) })
	o := mustOK(t, bsAs(path, "create", "--print-join-command"), "create")
	oargv := shelltest.Argv(t, "", o.Stdout, "kubeadm")[1:]
	t.Cleanup(func() { deleteSecret(flagValue(oargv, "--token")[:6]) })
	if kargv[1] != "join.example.com:6443" || oargv[1] != kargv[1] {
		t.Errorf("endpoint: kubeadm %s, ours %s", kargv[1], oargv[1])
	}
	kh, oh := flagValues(kargv, "--discovery-token-ca-cert-hash"), flagValues(oargv, "--discovery-token-ca-cert-hash")
	if len(kh) != 2 || !slices.Equal(kh, oh) {
		t.Errorf("hashes (one per CA certificate): kubeadm %v, ours %v", kh, oh)
	}
}
