package bootstrap

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

func TestVerify(t *testing.T) {
	users := map[string]authenticationv1.UserInfo{
		tok: {Username: "system:bootstrap:abcdef", Groups: []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"},
			Extra: map[string]authenticationv1.ExtraValue{"b": {"2"}, "a\x1b[2J": {"1"}}},
	}
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		objects  []runtime.Object
		exit     int
		stdout   string
		golden   string
		stderr   string
		requests []string
	}{
		{name: "who the token is", args: []string{"verify", tok}, golden: "verify"},
		{name: "from stdin", args: []string{"verify", "-"}, stdin: tok + "\n", golden: "verify"},
		{name: "a refused token is explained from its Secret", args: []string{"verify", "expird.0123456789abcdef"}, objects: listObjects(), exit: 1,
			stderr:   "error: the API server refused bootstrap token \"expird\" (401 Unauthorized): it expired at 2026-11-20T00:00:00Z; create a new token with kubectl bootstrap create\n",
			requests: []string{"get secrets kube-system/bootstrap-token-expird"}},
		{name: "a wrong secret", args: []string{"verify", "zzzzzz.ffffffffffffffff"}, objects: listObjects(), exit: 1,
			stderr:   "error: the API server refused bootstrap token \"zzzzzz\" (401 Unauthorized): the secret half does not match the stored token \"zzzzzz\"; check for a typo or create a new token\n",
			requests: []string{"get secrets kube-system/bootstrap-token-zzzzzz"}},
		{name: "an unknown token points at list with the user's flags", args: []string{"verify", "absent.0123456789abcdef", "--context", "prod"}, exit: 1,
			stderr:   "error: the API server refused bootstrap token \"absent\" (401 Unauthorized): no such token (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list --context=prod\n",
			requests: []string{"get secrets kube-system/bootstrap-token-absent"}},
		{name: "an ID is not enough", args: []string{"verify", "abcdef"}, exit: 1,
			stderr: `error: the TOKEN argument is not a bootstrap token: pass a token of the form "[a-z0-9]{6}.[a-z0-9]{16}" or a secure token "K10<sha256 hex>::<id>.<secret>" (kubectl bootstrap generate makes one)` + "\n"},
		{name: "-o name is not offered", args: []string{"verify", tok, "-o", "name"}, exit: 1,
			stderr: `error: unknown output format "name": use one of json, yaml, kyaml, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fixClock(t)
			f := clitest.NewFactory(clitest.Options{Core: tc.objects, REST: apiServer(t, kubeadmV, users),
				Cluster: kubeconfig.Cluster{Context: "test", Server: "https://10.0.0.1:6443"}})
			c := cmdCase{exit: tc.exit, stdout: tc.stdout, golden: tc.golden, stderr: tc.stderr, requests: tc.requests}
			res := clitest.Run(t, NewRoot, f, tc.stdin, tc.args...)
			if res.Exit != c.exit || res.Stderr != c.stderr {
				t.Errorf("got %s\nwant exit %d, stderr %q", res, c.exit, c.stderr)
			}
			if c.golden != "" {
				clitest.Golden(t, c.golden, res.Stdout)
			} else if res.Stdout != c.stdout {
				t.Errorf("stdout %q, want %q", res.Stdout, c.stdout)
			}
			if got := f.Requests(); len(got) != len(c.requests) || (len(got) > 0 && got[0] != c.requests[0]) {
				t.Errorf("requests %q, want %q", got, c.requests)
			}
		})
	}
}
