package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// A downstream context the kubeconfig lacks gets the one line every
// plugin gives for an unknown context (cli.NoSuchContext: the files
// looked in, --kubeconfig kept in the hint), and that nothing was created.
func TestCheckDownstreamSaysAnUnknownContextAsEveryPluginDoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.yaml")
	kc := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: mgmt, context: {cluster: c, user: u}}, {name: edge, context: {cluster: c, user: u}}]
current-context: mgmt
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	f := cli.NewFactory("kubectl-regtoken")
	*f.ConfigFlags.KubeConfig = path
	names, current, err := f.KubeconfigContexts()
	if err != nil {
		t.Fatal(err)
	}
	m := cli.Management{What: "the Fleet management cluster", Whose: "the management cluster's"}
	err = cli.CheckDownstream(f, []string{"edge", "nope"}, names, current, m)
	want := cli.NoSuchContext("nope", path, &path).Error() + "; nothing was created"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if err := cli.CheckDownstream(f, []string{"edge"}, names, current, m); err != nil {
		t.Errorf("a known downstream context: %v", err)
	}
}
