package bootstrap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/internal/shellquote"
)

// errNUL: no shell word, environment value or YAML scalar a node could be
// given can carry a NUL byte, so a command holding one cannot be printed
// faithfully.
var errNUL = errors.New("contains a NUL byte")

func checkNUL(what string, values ...string) error {
	for _, v := range values {
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("%s %w", what, errNUL)
		}
	}
	return nil
}

// KubeadmEndpoint is kubeadm's rule for the join endpoint: the
// kubeconfig's server with every "https://" removed (so a trailing slash
// or path stays, exactly as `kubeadm token create --print-join-command`
// prints it).
func KubeadmEndpoint(server string) string { return strings.ReplaceAll(server, "https://", "") }

// KubeadmJoinArgv is the argv of `kubeadm join` for a worker, or for a
// control-plane node when certificateKey is set: one
// --discovery-token-ca-cert-hash per CA certificate, as kubeadm prints.
func KubeadmJoinArgv(endpoint, token string, caHashes []string, certificateKey string) []string {
	argv := []string{"kubeadm", "join", endpoint, "--token", token}
	for _, h := range caHashes {
		argv = append(argv, "--discovery-token-ca-cert-hash", h)
	}
	if certificateKey != "" {
		argv = append(argv, "--control-plane", "--certificate-key", certificateKey)
	}
	return argv
}

// KubeadmJoinLine is KubeadmJoinArgv quoted for a POSIX shell, one line.
func KubeadmJoinLine(endpoint, token string, caHashes []string, certificateKey string) (string, error) {
	argv := KubeadmJoinArgv(endpoint, token, caHashes, certificateKey)
	if err := checkNUL("the kubeadm join command", argv...); err != nil {
		return "", err
	}
	return shellquote.Join(argv), nil
}

// K3sInstallURL is the k3s install script the join line pipes to sh.
const K3sInstallURL = "https://get.k3s.io"

// K3sJoinLine is the documented agent join:
//
//	curl -sfL https://get.k3s.io | K3S_URL=https://host:6443 K3S_TOKEN=K10... sh -
//
// with both values quoted so the line runs with exactly these values.
func K3sJoinLine(serverURL, token string) (string, error) {
	if err := checkNUL("the k3s join command", serverURL, token); err != nil {
		return "", err
	}
	return shellquote.Join([]string{"curl", "-sfL", K3sInstallURL}) + " | " +
		"K3S_URL=" + shellquote.Quote(serverURL) + " K3S_TOKEN=" + shellquote.Quote(token) + " " +
		shellquote.Join([]string{"sh", "-"}), nil
}

// yamlPrintable reports whether s is valid UTF-8 without control
// characters or non-characters: what a YAML reader accepts back unchanged.
func yamlPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// RKE2ConfigPath is where an rke2 agent reads its configuration.
const RKE2ConfigPath = "/etc/rancher/rke2/config.yaml"

// rke2AgentConfig is the part of an rke2 agent's config.yaml that joins it.
type rke2AgentConfig struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

// RKE2Config is the agent config.yaml that joins an rke2 cluster, with a
// comment naming the file; values are YAML-quoted when they need it.
func RKE2Config(serverURL, token string) (string, error) {
	if err := checkNUL("the rke2 agent configuration", serverURL, token); err != nil {
		return "", err
	}
	if !yamlPrintable(serverURL) || !yamlPrintable(token) {
		return "", errors.New("the rke2 agent configuration would hold control characters or bytes that are not UTF-8, which YAML cannot carry")
	}
	b, err := yaml.Marshal(rke2AgentConfig{Server: serverURL, Token: token})
	if err != nil {
		return "", err
	}
	return "# " + RKE2ConfigPath + " on the new agent, then: systemctl enable --now rke2-agent\n" + string(b), nil
}

// Supervisor ports: k3s serves its join endpoints on the API server port,
// rke2 on its own supervisor port.
const (
	K3sPort  = "6443"
	RKE2Port = "9345"
)

// SupervisorURL is the https://host:port a k3s or rke2 agent joins, from
// the API server URL: k3s keeps the API server's port (its supervisor
// shares it), rke2 uses 9345 on the same host.
func SupervisorURL(apiServer string, f Flavor) (string, error) {
	u, err := url.Parse(apiServer)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server %q is not a URL like https://host:6443: pass --join-server", apiServer)
	}
	host := u.Hostname()
	port := u.Port()
	switch {
	case f == FlavorRKE2:
		port = RKE2Port
	case port == "":
		port = K3sPort
	}
	return (&url.URL{Scheme: "https", Host: net.JoinHostPort(host, port)}).String(), nil
}
