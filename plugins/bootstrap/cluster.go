package bootstrap

import (
	"context"
	"errors"
	"fmt"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

// joinCluster is the kubeconfig cluster kubeadm's join command is built
// from (server and CA): the unnamed cluster when the kubeconfig has one
// (kubeadm's rule, docs/bootstrap-tokens.md §4), else the cluster the
// context (and --server, --cluster, --certificate-authority) select.
func joinCluster(f cli.Clients) (where string, cluster kubeconfig.Cluster, err error) {
	cluster, err = f.CurrentCluster()
	if err != nil {
		return "", cluster, err
	}
	if !clusterFlagsGiven(f) {
		if c, ok, err := f.KubeconfigCluster(""); err == nil && ok && c.Server != "" {
			return "the kubeconfig's unnamed cluster", c, nil
		}
	}
	if cluster.Context == "" && cluster.Server == "" && !cluster.HasCA() {
		return "", cluster, errNoKubeconfig
	}
	return cluster.Where(), cluster, nil
}

// errNoKubeconfig says that no kubeconfig names a cluster, rather than
// that "the kubeconfig" lacks a CA or a server.
var errNoKubeconfig = errors.New("no kubeconfig names a cluster (no --kubeconfig, $KUBECONFIG or ~/.kube/config with a current context)")

// joinAPIServer is joinCluster's server.
func joinAPIServer(f cli.Clients) (string, error) {
	where, cluster, err := joinCluster(f)
	switch {
	case errors.Is(err, errNoKubeconfig):
		return "", fmt.Errorf("%w: pass --kubeconfig, or --join-server https://HOST:PORT", err)
	case err != nil:
		return "", err
	}
	if cluster.Server == "" {
		return "", fmt.Errorf("%s names no server: pass --join-server https://HOST:PORT or --server", where)
	}
	return cluster.Server, nil
}

func clusterFlagsGiven(f cli.Clients) bool {
	cf := f.Flags()
	for _, p := range []*string{cf.Context, cf.ClusterName, cf.APIServer, cf.CAFile} {
		if p != nil && *p != "" {
			return true
		}
	}
	return false
}

// kubeconfigCA is the CA of the kubeconfig cluster a join names.
func kubeconfigCA(f cli.Clients) (kubeconfig.CABundle, error) {
	_, cluster, err := joinCluster(f)
	switch {
	case errors.Is(err, errNoKubeconfig):
		return kubeconfig.CABundle{}, fmt.Errorf("%w: pass --kubeconfig, or --ca-file with the cluster CA", err)
	case err != nil:
		return kubeconfig.CABundle{}, fmt.Errorf("%w (or pass --ca-file with the cluster CA)", err)
	}
	b, err := cluster.CA()
	if err != nil {
		return b, fmt.Errorf("%w: pass --ca-file with the cluster CA, or fix the kubeconfig", err)
	}
	return b, nil
}

// loadCA finds the CA bundle: --ca-file, --cacerts-url, else the
// kubeconfig's.
func loadCA(ctx context.Context, f cli.Clients, caFile, cacertsURL string) (kubeconfig.CABundle, error) {
	switch {
	case caFile != "":
		return kubeconfig.ReadCAFile(caFile, "--ca-file")
	case cacertsURL != "":
		return FetchCACerts(ctx, cacertsURL)
	}
	return kubeconfigCA(f)
}
