package regtoken

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// lifecycleWorld is a Fleet manager with a cluster of each mode and one
// whose context is not in the kubeconfig: ctx-a enrolled --mode manager
// (credential expiring 2026-12-20), cluster-bbbb registered by an agent
// with token edge, cluster-cccc never checked in.
func lifecycleWorld(t *testing.T, extra ...runtime.Object) (*clitest.Factory, map[string]*clitest.Factory) {
	t.Helper()
	objs := append([]runtime.Object{
		fleetCluster("ctx-a", "uid-a", "ctx-a-kubeconfig", "2026-11-28T11:58:00Z", map[string]string{"env": "prod"},
			map[string]string{fleet.ModeAnnotation: "manager", fleet.ContextAnnotation: "ctx-a", fleet.CredentialExpiresAnnotation: "2026-12-20T12:00:00Z"}),
		fleetCluster("cluster-bbbb", "uid-b", "", "2026-11-28T11:00:00Z", map[string]string{"env": "dev"}, nil),
		fleetCluster("cluster-cccc", "uid-zzz", "", "", nil, nil),
		registration("request-b", "edge", "uid-b", "cluster-bbbb", 0),
	}, extra...)
	return managedWorld(t, objs...)
}

func TestClustersListsBothModesWithTheirContexts(t *testing.T) {
	f, _ := lifecycleWorld(t)
	res := run(t, f, "clusters")
	if res.Exit != 0 {
		t.Fatalf("%s", res)
	}
	golden(t, "clusters", res.String())
	golden(t, "clusters-wide", run(t, f, "clusters", "-o", "wide").String())
}

func TestClustersJSONIsAListOfSummariesWithoutCredentials(t *testing.T) {
	f, _ := lifecycleWorld(t)
	res := run(t, f, "clusters", "-o", "json")
	var got fleet.ClusterSummaryList
	if res.Exit != 0 || json.Unmarshal([]byte(res.Stdout), &got) != nil {
		t.Fatalf("%s", res)
	}
	if got.Kind != "FleetClusterList" || len(got.Items) != 3 {
		t.Fatalf("%s", res.Stdout)
	}
	a, b, c := got.Items[2], got.Items[0], got.Items[1]
	if a.Name != "ctx-a" || a.Mode != "manager" || a.Context != "ctx-a" || a.RegisteredBy != "secret/ctx-a-kubeconfig" || a.CredentialExpires != "2026-12-20T12:00:00Z" || a.Ready != "True" {
		t.Errorf("ctx-a: %+v", a)
	}
	if b.Name != "cluster-bbbb" || b.Mode != "agent" || b.Context != "ctx-b" || b.RegisteredBy != "token/edge" || b.AgentLastSeen != "2026-11-28T11:00:00Z" {
		t.Errorf("cluster-bbbb: %+v", b)
	}
	if c.Name != "cluster-cccc" || c.Context != "" || c.AgentLastSeen != "" || c.Ready != "Unknown" {
		t.Errorf("cluster-cccc: %+v", c)
	}
	names := run(t, f, "clusters", "-o", "name")
	if names.Stdout != "fleetcluster.regtoken.kubectl-tokens.io/cluster-bbbb\nfleetcluster.regtoken.kubectl-tokens.io/cluster-cccc\nfleetcluster.regtoken.kubectl-tokens.io/ctx-a\n" {
		t.Errorf("-o name: %s", names)
	}
	path := run(t, f, "clusters", "-o", "jsonpath={range .items[*]}{.metadata.name}={.context}{\"\\n\"}{end}")
	if path.Stdout != "cluster-bbbb=ctx-b\ncluster-cccc=\nctx-a=ctx-a\n" {
		t.Errorf("-o jsonpath: %s", path)
	}
}

func TestClustersExpiringWithinShowsManagerCredentialsThatExpire(t *testing.T) {
	f, _ := lifecycleWorld(t)
	res := run(t, f, "clusters", "--expiring-within", "30d", "--fail-if-any")
	if res.Exit != 3 || !strings.Contains(res.Stdout, "ctx-a") || strings.Contains(res.Stdout, "cluster-bbbb") {
		t.Fatalf("%s", res)
	}
	res = run(t, f, "clusters", "--expiring-within", "7d", "--fail-if-any")
	if res.Exit != 0 || res.Stdout != "" || res.Stderr != "No manager-mode credentials expire within 7d in namespace fleet-default.\n" {
		t.Fatalf("%s", res)
	}
	res = run(t, f, "clusters", "--expiring-within", "never")
	if res.Exit != 1 || !strings.Contains(res.Stderr, "--expiring-within never selects nothing") {
		t.Fatalf("%s", res)
	}
}

func TestClustersNoContextsAsksNoDownstreamCluster(t *testing.T) {
	f, others := lifecycleWorld(t)
	res := run(t, f, "clusters", "--no-contexts")
	if res.Exit != 0 || strings.Contains(res.Stdout, "ctx-b") || !strings.Contains(res.Stdout, "ctx-a") {
		t.Fatalf("the recorded context stays, no other is found: %s", res)
	}
	for name, d := range others {
		if len(d.Requests()) > 0 {
			t.Errorf("%s was asked: %q", name, d.Requests())
		}
	}
}

func TestLifecycleHelp(t *testing.T) {
	for _, verb := range []string{"clusters", "remove", "repair"} {
		golden(t, verb+"-help", run(t, world{}.factory(t), verb, "--help").Stdout)
	}
}

func TestFailIfAnyHelpNamesWhatEachListShows(t *testing.T) {
	for _, c := range []struct {
		args []string
		item string
	}{
		{[]string{"clusters"}, "cluster"},
		{[]string{"import", "list"}, "cluster"},
		{[]string{"list"}, "token"},
	} {
		help := run(t, world{}.factory(t), append(c.args, "--help")...).Stdout
		want := "Exit with code 3 when any " + c.item + " is shown"
		if !strings.Contains(help, want) {
			t.Errorf("kubectl regtoken %s --help: no %q in\n%s", strings.Join(c.args, " "), want, help)
		}
	}
}
