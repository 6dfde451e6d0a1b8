package bootstrap

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
)

// Where a kubeadm cluster publishes its join address
// (docs/bootstrap-tokens.md §10).
const (
	kubeadmConfigName       = "kubeadm-config"
	clusterConfigurationKey = "ClusterConfiguration"
)

// endpointSource is one place a join address can come from.
type endpointSource struct {
	what    string // e.g. "kube-system/kubeadm-config controlPlaneEndpoint"
	why     string // why it is preferred to those after it
	address string // as JoinAddress prints it; "" when the source has none
	ignored string // why a value found there cannot be used
}

// joinEndpoint is the address a kubeadm join names, from the first
// source that has one: --join-server, the cluster's controlPlaneEndpoint
// (its HA address, in kube-system/kubeadm-config), the server in
// kube-public/cluster-info (the one joining nodes use after discovery,
// kubernetes/kubernetes#57261), and only then the kubeconfig's server,
// which may be a single node or a proxy. note says which was used and
// why when the sources disagree or one was unusable; "" otherwise.
//
// k3s and rke2 publish neither ConfigMap: their address is --join-server
// or the kubeconfig's. A given --join-server is the user's choice and
// costs no lookups.
func joinEndpoint(ctx context.Context, f cli.Clients, core corev1client.CoreV1Interface, joinServer string, flavor Flavor, lookup bool) (address, note string, err error) {
	if joinServer != "" {
		address, err = JoinAddress(joinServer, "--join-server", flavor)
		return address, "", err
	}
	var sources []endpointSource
	if flavor == FlavorKubeadm && lookup {
		cpe, err := controlPlaneEndpoint(ctx, core)
		if err != nil {
			return "", "", err
		}
		ci, err := clusterInfoServer(ctx, core)
		if err != nil {
			return "", "", err
		}
		sources = append(sources, cpe, ci)
	}
	kc := endpointSource{what: "the kubeconfig server", why: "the cluster publishes no join address"}
	server, serverErr := joinAPIServer(f)
	if serverErr == nil {
		kc.address, serverErr = JoinAddress(server, "", flavor)
	}
	sources = append(sources, kc)

	used := -1
	for i, s := range sources {
		if s.address != "" {
			used = i
			break
		}
	}
	if used < 0 {
		return "", "", serverErr
	}
	var others, ignored []string
	for i, s := range sources {
		switch {
		case s.ignored != "":
			ignored = append(ignored, s.ignored)
		case i != used && s.address != "" && s.address != sources[used].address:
			others = append(others, fmt.Sprintf("%s is %s", s.what, s.address))
		}
	}
	u := sources[used]
	switch {
	case len(others) > 0:
		note = fmt.Sprintf("join address %s from %s, %s (%s); pass --join-server to choose", u.address, u.what, u.why, strings.Join(others, ", "))
	case len(ignored) > 0:
		note = fmt.Sprintf("join address %s from %s", u.address, u.what)
	}
	if len(ignored) > 0 {
		note += "; ignored " + strings.Join(ignored, "; ")
	}
	return u.address, note, nil
}

// controlPlaneEndpoint reads the controlPlaneEndpoint of kubeadm's
// ClusterConfiguration. A missing or unreadable ConfigMap is no source.
func controlPlaneEndpoint(ctx context.Context, core corev1client.CoreV1Interface) (endpointSource, error) {
	src := endpointSource{what: "kube-system/kubeadm-config controlPlaneEndpoint", why: "the cluster's HA endpoint"}
	cm, err := core.ConfigMaps(Namespace).Get(ctx, kubeadmConfigName, metav1.GetOptions{})
	if absent(err) {
		return src, nil
	}
	if err != nil {
		return src, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: configMapsResource, Kind: "ConfigMap", Namespace: Namespace, Name: kubeadmConfigName})
	}
	var cc struct {
		ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data[clusterConfigurationKey]), &cc); err != nil {
		src.ignored = fmt.Sprintf("%s: its %s is not YAML", src.what, clusterConfigurationKey)
		return src, nil
	}
	if cc.ControlPlaneEndpoint == "" {
		return src, nil
	}
	// host[:port]; kubeadm's default port is the API server's, 6443.
	if src.address, err = JoinAddress("https://"+cc.ControlPlaneEndpoint, src.what, FlavorKubeadm); err != nil || strings.Contains(cc.ControlPlaneEndpoint, "/") {
		src.address, src.ignored = "", fmt.Sprintf("%s %q: not HOST[:PORT]", src.what, cc.ControlPlaneEndpoint)
	}
	return src, nil
}

// clusterInfoServer reads the server of the kubeconfig in
// kube-public/cluster-info (its unnamed cluster, or its only one).
func clusterInfoServer(ctx context.Context, core corev1client.CoreV1Interface) (endpointSource, error) {
	src := endpointSource{what: "kube-public/cluster-info's server", why: "the address joining nodes use after discovery"}
	cm, err := core.ConfigMaps("kube-public").Get(ctx, bootstrapapi.ConfigMapClusterInfo, metav1.GetOptions{})
	if absent(err) {
		return src, nil
	}
	if err != nil {
		return src, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: configMapsResource, Kind: "ConfigMap", Namespace: "kube-public", Name: bootstrapapi.ConfigMapClusterInfo})
	}
	cfg, err := clientcmd.Load([]byte(cm.Data[bootstrapapi.KubeConfigKey]))
	if err != nil {
		src.ignored = src.what + ": its kubeconfig cannot be read"
		return src, nil
	}
	server := ""
	if c, ok := cfg.Clusters[""]; ok {
		server = c.Server
	} else if len(cfg.Clusters) == 1 {
		for _, c := range cfg.Clusters {
			server = c.Server
		}
	}
	if server == "" {
		return src, nil
	}
	if src.address, err = JoinAddress(server, src.what, FlavorKubeadm); err != nil {
		src.address, src.ignored = "", fmt.Sprintf("%s %q: not https://HOST:PORT", src.what, server)
	}
	return src, nil
}

// absent: a ConfigMap that is not there, or that these credentials may
// not read, is no source (it does not stop the join command).
func absent(err error) bool {
	return (apierrors.IsNotFound(err) && !apierror.IsNotServedError(err)) || apierrors.IsForbidden(err)
}
