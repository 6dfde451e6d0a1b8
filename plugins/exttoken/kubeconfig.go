package exttoken

import (
	"fmt"
	"net/url"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Rancher proxies each downstream cluster's API at
// https://<rancher>/k8s/clusters/<cluster ID> (docs/rancher-tokens.md §6).
const clustersPath = "/k8s/clusters/"

// rancherServer decides the server of a kubeconfig for an ext token.
// With --rancher-url it is that URL, completed with /k8s/clusters/<id>
// when it is only Rancher's address; without, the current server must be
// a Rancher cluster URL, whose Rancher part is kept. The cluster is
// clusterName when the token is scoped to one, else the one in the URL,
// else "local" (Rancher's own cluster).
func rancherServer(rancherURL, currentServer, clusterName string) (string, error) {
	if rancherURL != "" {
		u, err := url.Parse(rancherURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("invalid --rancher-url %q: give Rancher's https address, e.g. https://rancher.example.com", rancherURL)
		}
		return withCluster(u, clusterName), nil
	}
	u, err := url.Parse(currentServer)
	if err != nil || u.Host == "" || !strings.Contains(u.Path, clustersPath) {
		return "", fmt.Errorf("cannot tell Rancher's address: the current server %s is not a Rancher cluster URL (https://<rancher>%s<id>); pass --rancher-url https://<rancher>", currentServer, clustersPath)
	}
	return withCluster(u, clusterName), nil
}

func withCluster(u *url.URL, clusterName string) string {
	base, id, found := strings.Cut(u.Path, clustersPath)
	if found {
		id, _, _ = strings.Cut(id, "/")
	}
	if clusterName != "" {
		id = clusterName
	}
	if id == "" {
		id = "local"
	}
	out := *u
	out.Path = strings.TrimSuffix(base, "/") + clustersPath + id
	return out.String()
}

// clusterID is the last path element of a Rancher cluster URL.
func clusterID(server string) string {
	i := strings.LastIndex(server, "/")
	return server[i+1:]
}

// buildKubeconfig is a kubeconfig whose user authenticates with the
// bearer token at server; caData is included when known.
func buildKubeconfig(server string, caData []byte, tokenName, bearer string) ([]byte, error) {
	id := clusterID(server)
	kc := clientcmdapi.NewConfig()
	c := clientcmdapi.NewCluster()
	c.Server = server
	c.CertificateAuthorityData = caData
	kc.Clusters[id] = c
	a := clientcmdapi.NewAuthInfo()
	a.Token = bearer
	kc.AuthInfos[tokenName] = a
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo = id, tokenName
	kc.Contexts[id] = ctx
	kc.CurrentContext = id
	return clientcmd.Write(*kc)
}
