package bootstrap

import (
	"regexp"
	"testing"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli/clitest"
)

func TestGenerate(t *testing.T) {
	fixClock(t)
	short := regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}\n$`)
	for _, tc := range []struct {
		name   string
		args   []string
		empty  bool // no kubeconfig cluster
		stdout *regexp.Regexp
		exit   int
		stderr string
	}{
		{name: "a random token", args: []string{"generate"}, stdout: short},
		{name: "-o token", args: []string{"generate", "-o", "token"}, stdout: short},
		{name: "-o secure hashes the kubeconfig CA", args: []string{"generate", "-o", "secure"},
			stdout: regexp.MustCompile(`^K10` + hashRootPEM + `::[a-z0-9]{6}\.[a-z0-9]{16}\n$`)},
		{name: "-o secure with --ca-file", args: []string{"generate", "-o", "secure", "--ca-file", "testdata/bundle.pem"}, empty: true,
			stdout: regexp.MustCompile(`^K10` + hashRootDER + `::[a-z0-9]{6}\.[a-z0-9]{16}\n$`)},
		{name: "-o json is kubeadm's object", args: []string{"generate", "-o", "json"},
			stdout: regexp.MustCompile(`(?s)^\{\n    "kind": "BootstrapToken",\n    "apiVersion": "output.kubeadm.k8s.io/v1alpha3",\n    "id": "([a-z0-9]{6})",\n    "token": "[a-z0-9]{6}\.[a-z0-9]{16}"\n\}\n$`)},
		{name: "a missing kubeconfig is said as such", args: []string{"generate", "-o", "secure"}, empty: true, exit: 1,
			stderr: "error: no kubeconfig names a cluster (no --kubeconfig, $KUBECONFIG or ~/.kube/config with a current context): pass --kubeconfig, or --ca-file with the cluster CA\n"},
		{name: "--ca-file without -o secure", args: []string{"generate", "--ca-file", "testdata/root.pem"}, exit: 1,
			stderr: "error: --ca-file is only used with -o secure: add -o secure or drop --ca-file\n"},
		{name: "-o name is not offered", args: []string{"generate", "-o", "name"}, exit: 1,
			stderr: `error: unknown output format "name": use one of token, secure, json, yaml, kyaml, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := clitest.Options{}
			if !tc.empty {
				opts.Cluster.Context, opts.Cluster.Server, opts.Cluster.CAData = "test", "https://10.0.0.1:6443", readTestdata(t, "root.pem")
			}
			f := clitest.NewFactory(opts)
			res := clitest.Run(t, NewRoot, f, "", tc.args...)
			if res.Exit != tc.exit || res.Stderr != tc.stderr {
				t.Errorf("got %s\nwant exit %d, stderr %q", res, tc.exit, tc.stderr)
			}
			if tc.stdout != nil && !tc.stdout.MatchString(res.Stdout) {
				t.Errorf("stdout %q does not match %s", res.Stdout, tc.stdout)
			}
			if tc.stdout == nil && res.Stdout != "" {
				t.Errorf("stdout %q, want none", res.Stdout)
			}
			if r := f.Requests(); len(r) != 0 {
				t.Errorf("generate sent requests: %q", r)
			}
		})
	}
}
