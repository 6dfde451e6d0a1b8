package fleet

import (
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

func TestCheckDistinctClustersRefusesTheManagementClusterAndTwoContextsOfOneCluster(t *testing.T) {
	rancher := cli.Management{What: "Rancher's local cluster", Whose: "Rancher's"}
	for _, c := range []struct {
		name     string
		contexts []string
		uids     []string
		mgmtUID  string
		m        cli.Management
		want     string
	}{
		{"distinct clusters", []string{"a", "b"}, []string{"uid-a", "uid-b"}, "uid-m", management, ""},
		{"unread clusters fail alone, they are not one cluster", []string{"a", "b"}, []string{"", ""}, "", management, ""},
		{"an unread management cluster matches none", []string{"a"}, []string{"uid-a"}, "", management, ""},
		{"the Fleet management cluster", []string{"a", "b"}, []string{"uid-a", "uid-m"}, "uid-m", management,
			`context "b" reaches the Fleet management cluster itself (kube-system UID uid-m): name downstream contexts; nothing was created`},
		{"Rancher's local cluster", []string{"a"}, []string{"uid-m"}, "uid-m", rancher,
			`context "a" reaches Rancher's local cluster itself (kube-system UID uid-m): name downstream contexts; nothing was created`},
		{"two contexts of one cluster", []string{"a", "b", "c"}, []string{"uid-a", "", "uid-a"}, "uid-m", rancher,
			`contexts "a" and "c" reach the same cluster (kube-system UID uid-a): name each cluster once; nothing was created`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDistinctClusters(c.contexts, c.uids, c.mgmtUID, c.m)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}
