package bootstrap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
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

// JoinMaterial is what a node needs to join, for automation
// (create --print-join-command -o json|yaml): the address, the token, the
// CA pins (kubeadm's discovery hashes, or the K10 secure token), and the
// command as an argv.
type JoinMaterial struct {
	metav1.TypeMeta `json:",inline"`
	Flavor          Flavor   `json:"flavor"`
	Endpoint        string   `json:"endpoint"`
	Token           string   `json:"token"`
	CACertHashes    []string `json:"caCertHashes,omitempty"`
	SecureToken     string   `json:"secureToken,omitempty"`
	Command         []string `json:"command"`
}

// DeepCopyObject makes JoinMaterial printable; it is printed, never copied.
func (m *JoinMaterial) DeepCopyObject() runtime.Object { c := *m; return &c }

// NewJoinMaterial starts the join material of a flavor.
func NewJoinMaterial(f Flavor, endpoint, token string) *JoinMaterial {
	return &JoinMaterial{
		TypeMeta: metav1.TypeMeta{APIVersion: LocalAPIVersion, Kind: "JoinMaterial"},
		Flavor:   f, Endpoint: endpoint, Token: token,
	}
}

// AgentArgv is the k3s or rke2 agent command that joins with the secure
// token: "<program> agent --server URL --token K10...", the same values
// as the install line or config.yaml carry.
func AgentArgv(f Flavor, serverURL, secureToken string) []string {
	return []string{string(f), "agent", "--server", serverURL, "--token", secureToken}
}

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

// Join ports: kubeadm and k3s nodes join on the API server port (k3s's
// supervisor shares it), rke2 agents on rke2's own supervisor port
// (docs/bootstrap-tokens.md §7).
const (
	APIServerPort = "6443"
	RKE2Port      = "9345"
	httpsPort     = "443"
)

// JoinPort is the port a flavor's nodes join on when the address names
// none.
func (f Flavor) JoinPort() string {
	if f == FlavorRKE2 {
		return RKE2Port
	}
	return APIServerPort
}

// JoinAddress is the address a flavor's join material names, as printed:
// host:port for kubeadm join, https://host:port for k3s and rke2. server
// is the value of flag (--join-server, --supervisor-url), or the
// kubeconfig's server when flag is "".
//
// A trailing "/" is dropped (kubeadm join refuses it); a path is refused:
// a server URL with a path is a proxy (such as Rancher's
// /k8s/clusters/ID) that nodes cannot join through. A --join-server
// without a port gets the flavor's port; the kubeconfig's server keeps
// the port kubectl reaches it on (443 when it names none), except for
// rke2, whose agents join the supervisor on 9345 of the same host.
func JoinAddress(server, flag string, f Flavor) (string, error) {
	return joinAddress(server, flag, "--join-server", f)
}

// joinAddress is JoinAddress whose remedy for a bad kubeconfig server is
// fixFlag (rotate's is --supervisor-url).
func joinAddress(server, flag, fixFlag string, f Flavor) (string, error) {
	given := flag != ""
	what := fmt.Sprintf("the kubeconfig server %q", server)
	fix := "pass " + fixFlag + " https://HOST:PORT"
	if given {
		what, fix = fmt.Sprintf("%s %q", flag, server), "pass https://HOST:PORT"
	}
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%s is not a URL like https://HOST:%s: %s, the address nodes reach the cluster at", what, f.JoinPort(), fix)
	}
	if p := strings.TrimRight(u.Path, "/"); p != "" {
		return "", fmt.Errorf("%s has a path (%s): it is a proxy, which nodes cannot join through; %s, the address of the API server or its load balancer", what, p, fix)
	}
	port := u.Port()
	switch {
	case f == FlavorRKE2 && !given:
		port = RKE2Port
	case port == "" && given:
		port = f.JoinPort()
	case port == "":
		port = httpsPort
	}
	hostPort := net.JoinHostPort(u.Hostname(), port)
	if f == FlavorK3s || f == FlavorRKE2 {
		return "https://" + hostPort, nil
	}
	return hostPort, nil
}

// LoopbackWarning warns when the printed join address is a loopback
// address (as in a k3s.yaml or rke2.yaml copied verbatim): a node
// elsewhere cannot reach it. "" when it is not.
func LoopbackWarning(address string) string {
	if kubeconfig.IsLoopback(address) {
		return fmt.Sprintf("warning: the join address %s is a loopback address that other machines cannot reach: pass --join-server https://ADDRESS:PORT", address)
	}
	return ""
}
