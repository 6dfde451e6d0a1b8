package virtualclusters

import (
	"fmt"
	"os"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ContextName is the kubeconfig context of virtual cluster i.
func ContextName(i int) string { return fmt.Sprintf("virtual-%04d", i) }

// WriteKubeconfig writes to path the kubeconfig at base (its contexts,
// the current one included: the management cluster) plus contexts for
// the first n virtual clusters, each with its own cluster entry (server
// and inline CA, as a user's kubeconfig has them) and static token user.
// It returns the context names added.
func (s *Server) WriteKubeconfig(base, path string, n int) ([]string, error) {
	if n > len(s.clusters) {
		return nil, fmt.Errorf("virtualclusters: %d contexts asked of %d clusters", n, len(s.clusters))
	}
	cfg, err := clientcmd.LoadFromFile(base)
	if err != nil {
		return nil, err
	}
	names := make([]string, n)
	for i := range n {
		name := ContextName(i)
		names[i] = name
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: s.ClusterURL(i), CertificateAuthorityData: s.CAPEM}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: Token(i)}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return nil, err
	}
	return names, os.Chmod(path, 0o600)
}

// WriteInventory writes names one per line: a --contexts-from file.
func WriteInventory(path string, names []string) error {
	return os.WriteFile(path, []byte(strings.Join(names, "\n")+"\n"), 0o600)
}
