//go:build e2e

// Package bootstrap runs kubectl bootstrap through the real kubectl
// against the real kube-apiserver (bootstrap-token authentication on), and
// checks it against the real kubeadm built from the pinned module.
package bootstrap

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"github.com/kubectl-tokens/kubectl-tokens/test/plugintest"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var (
	env     *testenv.Env
	runner  *plugintest.Runner
	admin   kubernetes.Interface
	kubeadm string // the real kubeadm v1.36.3
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.Options{}, setup) }

func setup(e *testenv.Env) (err error) {
	env = e
	if runner, err = plugintest.NewRunner(); err != nil {
		return err
	}
	bin, err := testenv.BinDir(env.Root)
	if err != nil {
		return err
	}
	kubeadm = filepath.Join(bin, "kubeadm")
	admin = env.Clientset()
	return nil
}

// bs runs `kubectl bootstrap --kubeconfig <admin> args...` through the
// real kubectl.
func bs(args ...string) plugintest.Result {
	return runner.Kubectl(append([]string{"bootstrap", "--kubeconfig", env.Kubeconfig}, args...)...)
}

// bsAs runs kubectl bootstrap with another kubeconfig.
func bsAs(kubeconfig string, args ...string) plugintest.Result {
	return runner.Kubectl(append([]string{"bootstrap", "--kubeconfig", kubeconfig}, args...)...)
}

// bsIn runs kubectl bootstrap with stdin.
func bsIn(stdin string, args ...string) plugintest.Result {
	r := *runner
	r.Stdin = stdin
	return r.Kubectl(append([]string{"bootstrap", "--kubeconfig", env.Kubeconfig}, args...)...)
}

// kadm runs the real kubeadm against the admin kubeconfig.
func kadm(args ...string) plugintest.Result {
	args = append(args, "--kubeconfig", env.Kubeconfig)
	return runner.Run(kubeadm, args...)
}

func mustOK(t *testing.T, r plugintest.Result, what string) plugintest.Result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("%s: %s", what, r)
	}
	return r
}

// newToken is a fresh random token for a test, made by the library, and
// removed (with whatever Secret holds it) when the test ends.
func newToken(t *testing.T) (token, id, secret string) {
	t.Helper()
	tok, err := bootstraputil.GenerateBootstrapToken()
	if err != nil {
		t.Fatal(err)
	}
	id, secret, _ = strings.Cut(tok, ".")
	t.Cleanup(func() { deleteSecret(id) })
	return tok, id, secret
}

func deleteSecret(id string) {
	_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), "bootstrap-token-"+id, metav1.DeleteOptions{})
}

func getSecret(t *testing.T, id string) (*corev1.Secret, bool) {
	t.Helper()
	s, err := admin.CoreV1().Secrets("kube-system").Get(context.Background(), "bootstrap-token-"+id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return s, true
}

// tokenSecretNames lists the names of all bootstrap token Secrets, straight from
// the API.
func tokenSecretNames(t *testing.T) []string {
	t.Helper()
	l, err := admin.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{FieldSelector: "type=bootstrap.kubernetes.io/token"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range l.Items {
		names = append(names, s.Name)
	}
	return names
}

// writeRawSecret creates a bootstrap-type Secret exactly as given, for
// expired or malformed tokens no tool would write; removed at the end.
func writeRawSecret(t *testing.T, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"},
		Type:       "bootstrap.kubernetes.io/token",
		StringData: data,
	}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// jsonObjects splits concatenated JSON objects (kubeadm's list -o json)
// into their raw texts.
func jsonObjects(t *testing.T, s string) []json.RawMessage {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var out []json.RawMessage
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("not concatenated JSON objects: %v\n%s", err, s)
		}
		out = append(out, raw)
	}
}

// bootstrapTokenJSON is kubeadm's output.kubeadm.k8s.io/v1alpha3 object.
type bootstrapTokenJSON struct {
	Kind        string   `json:"kind"`
	APIVersion  string   `json:"apiVersion"`
	Token       string   `json:"token"`
	Description string   `json:"description"`
	Expires     *string  `json:"expires"`
	Usages      []string `json:"usages"`
	Groups      []string `json:"groups"`
}

// byID indexes kubeadm-shaped objects by the ID part of "token".
func byID(t *testing.T, out string) map[string]json.RawMessage {
	t.Helper()
	m := map[string]json.RawMessage{}
	for _, raw := range jsonObjects(t, out) {
		var o bootstrapTokenJSON
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(o.Token, ".")
		m[id] = raw
	}
	return m
}

// textRows splits a table (ours or kubeadm's) into cells: columns are at
// least three spaces apart, cells hold at most single spaces.
func textRows(out string) [][]string {
	var rows [][]string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " ")
		if line == "" {
			continue
		}
		rows = append(rows, splitColumns(line))
	}
	return rows
}

func splitColumns(line string) []string {
	var cells []string
	cur := ""
	spaces := 0
	for _, r := range line {
		if r == ' ' {
			spaces++
			continue
		}
		if spaces >= 2 && cur != "" {
			cells = append(cells, cur)
			cur = ""
		} else if spaces > 0 {
			cur += strings.Repeat(" ", spaces)
		}
		spaces = 0
		cur += string(r)
	}
	if cur != "" {
		cells = append(cells, cur)
	}
	return cells
}

// rowFor finds the row whose first cell is key (or starts with key+".").
func rowFor(rows [][]string, key string) []string {
	for _, r := range rows {
		if len(r) > 0 && (r[0] == key || strings.HasPrefix(r[0], key+".")) {
			return r
		}
	}
	return nil
}

// tokenOnlyKubeconfig writes a kubeconfig whose only credential is token,
// with the test cluster's server and CA.
func tokenOnlyKubeconfig(t *testing.T, token string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	c := clientcmdapi.NewCluster()
	c.Server = env.Config.Host
	c.CertificateAuthorityData = env.Config.CAData
	kc.Clusters["c"] = c
	u := clientcmdapi.NewAuthInfo()
	u.Token = token
	kc.AuthInfos["u"] = u
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = "c", "u"
	kc.Contexts["x"] = ctx
	kc.CurrentContext = "x"
	path := filepath.Join(t.TempDir(), "token.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// withoutID is one of our -o json objects without the "id" we add to
// kubeadm's fields, and that id, so it compares with kubeadm's object.
func withoutID(t *testing.T, raw []byte) ([]byte, string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var id string
	_ = json.Unmarshal(m["id"], &id)
	delete(m, "id")
	// Marshal sorts keys: compare the result with kubeadm's the same way.
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b, id
}

// sameFields compares kubeadm's object with ours minus its id, whatever
// the key order.
func sameFields(t *testing.T, kubeadms, ours []byte) bool {
	t.Helper()
	o, _ := withoutID(t, ours)
	k, _ := withoutID(t, kubeadms)
	return string(o) == string(k)
}
