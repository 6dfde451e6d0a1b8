package bootstrap

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/kubeconfig"
)

func TestKubeadmJoinLineIsKubeadmsCommand(t *testing.T) {
	line, err := KubeadmJoinLine("10.0.0.1:6443", "abcdef.0123456789abcdef", []string{"sha256:aa", "sha256:bb"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := "kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:aa --discovery-token-ca-cert-hash sha256:bb"
	if line != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	cp, _ := KubeadmJoinLine("h:6443", "abcdef.0123456789abcdef", []string{"sha256:aa"}, "0f")
	if !strings.HasSuffix(cp, " --control-plane --certificate-key 0f") {
		t.Errorf("control plane: %s", cp)
	}
}

func TestK3sJoinLineAndRKE2Config(t *testing.T) {
	tok := "K10" + strings.Repeat("a", 64) + "::abcdef.0123456789abcdef"
	line, err := K3sJoinLine("https://10.0.0.1:6443", tok)
	if err != nil {
		t.Fatal(err)
	}
	if want := "curl -sfL https://get.k3s.io | K3S_URL=https://10.0.0.1:6443 K3S_TOKEN=" + tok + " sh -"; line != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	cfg, err := RKE2Config("https://10.0.0.1:9345", tok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg, "# /etc/rancher/rke2/config.yaml") || !strings.Contains(cfg, "\nserver: https://10.0.0.1:9345\ntoken: "+tok+"\n") {
		t.Errorf("rke2 config:\n%s", cfg)
	}
}

func TestJoinAddressStripsTrailingSlashRefusesProxiesAndFillsPorts(t *testing.T) {
	for _, tc := range []struct {
		server string
		flag   string // "" for the kubeconfig's server
		f      Flavor
		want   string // the printed address, or the error it must say
		err    bool
	}{
		// The kubeconfig's server: a trailing slash dropped, its port kept.
		{"https://10.0.0.1:6443/", "", FlavorKubeadm, "10.0.0.1:6443", false},
		{"https://10.0.0.1:6443", "", FlavorK3s, "https://10.0.0.1:6443", false},
		{"https://k3s.example.com", "", FlavorK3s, "https://k3s.example.com:443", false},
		{"https://10.0.0.1:6443/", "", FlavorRKE2, "https://10.0.0.1:9345", false},
		{"https://[fd00::1]:6443", "", FlavorRKE2, "https://[fd00::1]:9345", false},
		// A path is a proxy: refused, pointing at --join-server.
		{"https://rancher.example.com/k8s/clusters/c-m-abc", "", FlavorKubeadm, "has a path (/k8s/clusters/c-m-abc): it is a proxy, which nodes cannot join through; pass --join-server https://HOST:PORT", true},
		{"https://rancher.example.com/k8s/clusters/c-m-abc/", "", FlavorK3s, "pass --join-server", true},
		// --join-server: a missing port is the flavor's.
		{"https://lb.example.com", "--join-server", FlavorKubeadm, "lb.example.com:6443", false},
		{"https://lb.example.com", "--join-server", FlavorK3s, "https://lb.example.com:6443", false},
		{"https://lb.example.com/", "--join-server", FlavorRKE2, "https://lb.example.com:9345", false},
		{"https://lb.example.com:7443", "--join-server", FlavorRKE2, "https://lb.example.com:7443", false},
		{"https://lb.example.com/proxy", "--join-server", FlavorKubeadm, `--join-server "https://lb.example.com/proxy" has a path (/proxy)`, true},
		{"lb.example.com:6443", "--join-server", FlavorKubeadm, "is not a URL like https://HOST:6443", true},
		{"http://lb.example.com:6443", "--join-server", FlavorKubeadm, "is not a URL like https://HOST:6443", true},
		{"::", "", FlavorK3s, "is not a URL", true},
	} {
		got, err := JoinAddress(tc.server, tc.flag, tc.f)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s (flag %q) %s: %q, %v; want an error saying %q", tc.server, tc.flag, tc.f, got, err, tc.want)
		case !tc.err && (err != nil || got != tc.want):
			t.Errorf("%s (flag %q) %s: %q, %v; want %q", tc.server, tc.flag, tc.f, got, err, tc.want)
		}
	}
}

// runInBash runs script in a clean bash with no PATH (so nothing outside
// the shell can run) and returns what it wrote to fds 3 and 4.
func runInBash(t *testing.T, script string) (fd3, fd4 []byte) {
	t.Helper()
	r3, w3, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r4, w4, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script)
	cmd.Env = []string{"PATH=/nonexistent", "LC_ALL=C"}
	cmd.ExtraFiles = []*os.File{w3, w4}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	read := func(r *os.File, ch chan<- []byte) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r)
		ch <- buf.Bytes()
	}
	c3, c4 := make(chan []byte, 1), make(chan []byte, 1)
	go read(r3, c3)
	go read(r4, c4)
	runErr := cmd.Run()
	_ = w3.Close()
	_ = w4.Close()
	fd3, fd4 = <-c3, <-c4
	_ = r3.Close()
	_ = r4.Close()
	if runErr != nil || stdout.Len() > 0 || stderr.Len() > 0 {
		t.Fatalf("bash -c %q: %v\nstdout: %q\nstderr: %q", script, runErr, stdout.String(), stderr.String())
	}
	return fd3, fd4
}

func splitNUL(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// FuzzJoinCommands proves that the kubeadm join line and the k3s curl line
// we print run, in a real bash, with exactly the argv and environment we
// meant, whatever the host, URL, token or hash holds; and that the rke2
// config parses back to the same values.
func FuzzJoinCommands(f *testing.F) {
	f.Add("10.0.0.1:6443", "https://10.0.0.1:6443", "abcdef.0123456789abcdef", "sha256:00ff", "")
	f.Add("h'; touch /tmp/pwned; echo '", "https://x$(id)`id`", "K10::abcdef.0123456789abcdef", "sha256:*", "?")
	f.Add("[::1]:6443/", "https://[::1]:9345", "a b\tc\nd", "~root", "$HOME")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, host, serverURL, token, hash, certKey string) {
		hasNUL := strings.ContainsRune(host+serverURL+token+hash+certKey, 0)

		line, err := KubeadmJoinLine(host, token, []string{hash}, certKey)
		if (err != nil) != strings.ContainsRune(host+token+hash+certKey, 0) {
			t.Fatalf("KubeadmJoinLine error %v for NUL-free=%v input", err, !hasNUL)
		}
		if err == nil {
			want := []string{"join", host, "--token", token, "--discovery-token-ca-cert-hash", hash}
			if certKey != "" {
				want = append(want, "--control-plane", "--certificate-key", certKey)
			}
			got, _ := runInBash(t, "kubeadm() { printf '%s\\0' \"$@\" >&3; }\n"+line)
			if argv := splitNUL(got); !slices.Equal(argv, want) {
				t.Fatalf("kubeadm line %q\nran as %q\nwant   %q", line, argv, want)
			}
		}

		k3s, err := K3sJoinLine(serverURL, token)
		if (err != nil) != strings.ContainsRune(serverURL+token, 0) {
			t.Fatalf("K3sJoinLine error %v", err)
		}
		if err == nil {
			curlArgs, shSide := runInBash(t, "curl() { printf '%s\\0' \"$@\" >&3; }\n"+
				"sh() { printf '%s\\0' \"$@\" \"K3S_URL=$K3S_URL\" \"K3S_TOKEN=$K3S_TOKEN\" >&4; }\n"+k3s)
			if got, want := splitNUL(curlArgs), []string{"-sfL", "https://get.k3s.io"}; !slices.Equal(got, want) {
				t.Fatalf("k3s line %q: curl ran as %q, want %q", k3s, got, want)
			}
			if got, want := splitNUL(shSide), []string{"-", "K3S_URL=" + serverURL, "K3S_TOKEN=" + token}; !slices.Equal(got, want) {
				t.Fatalf("k3s line %q: sh ran as %q, want %q", k3s, got, want)
			}
		}

		cfg, err := RKE2Config(serverURL, token)
		printable := func(s string) bool {
			return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
				return unicode.IsControl(r) || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF
			})
		}
		representable := printable(serverURL) && printable(token)
		if (err != nil) == representable {
			t.Fatalf("RKE2Config error %v", err)
		}
		if err == nil {
			var back rke2AgentConfig
			if err := yaml.UnmarshalStrict([]byte(cfg), &back); err != nil {
				t.Fatalf("rke2 config does not parse: %v\n%s", err, cfg)
			}
			if back.Server != serverURL || back.Token != token {
				t.Fatalf("rke2 config %q parsed back as %+v", cfg, back)
			}
		}
	})
}

func TestLoopbackWarningNamesThePrintedAddress(t *testing.T) {
	for address, warn := range map[string]bool{
		"https://127.0.0.1:6443":  true,
		"https://[::1]:9345":      true,
		"localhost:6443":          true,
		"[::1]:6443":              true,
		"10.0.0.1:6443":           false,
		"https://k3s.example.com": false,
	} {
		w := LoopbackWarning(address)
		if (w != "") != warn {
			t.Errorf("%s: warning %q, want one: %v", address, w, warn)
		}
		if warn && (!strings.HasPrefix(w, "warning: the join address "+address+" ")) {
			t.Errorf("%s: the warning does not name the printed address: %q", address, w)
		}
	}
}

// kubeadm's join reads the kubeconfig's unnamed cluster when there is one
// (docs/bootstrap-tokens.md §4); the plugin asks its Clients for it, never
// the kubeconfig on the machine the tests run on.
func TestJoinCommandUsesTheUnnamedClusterFromClients(t *testing.T) {
	fixClock(t)
	ca := readTestdata(t, "root.pem")
	f := clitest.NewFactory(clitest.Options{
		Cluster:  kubeconfig.Cluster{Context: "admin", Server: "https://named.example.com:6443", CAData: ca},
		Clusters: map[string]kubeconfig.Cluster{"": {Server: "https://unnamed.example.com:6443", CAData: ca}},
	})
	res := clitest.Run(t, NewRoot, f, "", "create", tok, "--flavor", "kubeadm", "--print-join-command")
	if res.Exit != 0 || !strings.HasPrefix(res.Stdout, "kubeadm join unnamed.example.com:6443 ") {
		t.Errorf("%s\nwant the unnamed cluster's server", res)
	}
	res = clitest.Run(t, NewRoot, clitest.NewFactory(clitest.Options{Cluster: kubeconfig.Cluster{Context: "admin", Server: "https://named.example.com:6443", CAData: ca}}), "", "create", tok, "--flavor", "kubeadm", "--print-join-command")
	if res.Exit != 0 || !strings.HasPrefix(res.Stdout, "kubeadm join named.example.com:6443 ") {
		t.Errorf("%s\nwant the context's server without an unnamed cluster", res)
	}
}
