package fleet

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

const secretToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

func valuesSecretWith(typ string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"}, Type: corev1.SecretType(typ), Data: data}
}

func TestDecodeValues(t *testing.T) {
	raw := "apiServerCA: \"\"\napiServerURL: https://x\nclusterNamespace: ns\nsystemRegistrationNamespace: cattle-fleet-clusters-system\ntoken: " + secretToken + "\ntokenName: t\n"
	v, err := DecodeValues(valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte(raw)}), "ns", "t", clitest.NewFactory(clitest.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if string(v.Raw) != raw || v.APIServerURL != "https://x" || v.APIServerCA != "" || !v.HasTokenName || v.TokenName != "t" || len(v.Warnings) != 0 {
		t.Errorf("decoded %+v", v)
	}
	legacy := strings.Replace(raw, "tokenName: t\n", "", 1)
	v, err = DecodeValues(valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte(legacy)}), "ns", "t", clitest.NewFactory(clitest.Options{}))
	if err != nil || v.HasTokenName || len(v.Warnings) != 0 {
		t.Errorf("values without tokenName: %+v, %v", v, err)
	}
}

func TestDecodeValuesRefusesBrokenSecrets(t *testing.T) {
	good := "apiServerCA: \"\"\napiServerURL: \"\"\nclusterNamespace: ns\nsystemRegistrationNamespace: s\ntoken: " + secretToken + "\n"
	for name, s := range map[string]*corev1.Secret{
		"wrong type":      valuesSecretWith("Opaque", map[string][]byte{"values": []byte(good)}),
		"no values key":   valuesSecretWith(ValuesSecretType, map[string][]byte{"other": []byte(good)}),
		"not YAML":        valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte("token: " + secretToken + "\n  : : [\n")}),
		"a YAML list":     valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte("- " + secretToken + "\n")}),
		"missing keys":    valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte("token: " + secretToken + "\n")}),
		"empty token":     valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte(strings.Replace(good, secretToken, `""`, 1))}),
		"non-string URL":  valuesSecretWith(ValuesSecretType, map[string][]byte{"values": []byte(strings.Replace(good, `apiServerURL: ""`, "apiServerURL: [1]", 1))}),
		"empty YAML file": valuesSecretWith(ValuesSecretType, map[string][]byte{"values": nil}),
	} {
		_, err := DecodeValues(s, "ns", "t", clitest.NewFactory(clitest.Options{}))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), secretToken) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error leaks the token or spans lines: %q", name, err)
		}
	}
}
