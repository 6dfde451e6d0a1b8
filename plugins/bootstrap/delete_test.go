package bootstrap

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestDelete(t *testing.T) {
	two := func() []runtime.Object { return listObjects()[:2] } // abcdef (valid), zzzzzz (never expires)
	runTable(t, []cmdCase{
		{name: "by ID", args: []string{"delete", "abcdef"}, objects: two(),
			stdout: `bootstrap token "abcdef" deleted` + "\n", requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-abcdef"}},
		{name: "by whole and secure token", args: []string{"delete", tok, "K10" + hashRootPEM + "::zzzzzz.0123456789abcdef"}, objects: two(),
			stdout:   `bootstrap token "abcdef" deleted` + "\n" + `bootstrap token "zzzzzz" deleted` + "\n",
			requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-abcdef", "delete secrets kube-system/bootstrap-token-zzzzzz"}},
		{name: "carries on past a missing token, hint keeps --context", args: []string{"delete", "absent", "abcdef", "--context", "prod"}, objects: two(), exit: 1,
			stdout:   `bootstrap token "abcdef" deleted` + "\n",
			stderr:   `error: deleted 1 of 2; failed: bootstrap token "absent": bootstrap token "absent" not found (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list --context=prod` + "\n",
			requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-absent", "delete secrets kube-system/bootstrap-token-abcdef"}},
		{name: "one missing token fails with its own error", args: []string{"delete", "absent"}, exit: 1,
			stderr:   `error: bootstrap token "absent" not found (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list` + "\n",
			requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-absent"}},
		{name: "client dry run reads, deletes nothing", args: []string{"delete", "abcdef", "absent", "--dry-run"}, objects: two(), exit: 1,
			stdout:   `bootstrap token "abcdef" deleted (dry run)` + "\n",
			stderr:   `error: deleted 1 of 2; failed: bootstrap token "absent": bootstrap token "absent" not found (no Secret kube-system/bootstrap-token-absent): list them with kubectl bootstrap list` + "\n",
			requests: []string{certsReq, "get secrets kube-system/bootstrap-token-abcdef", "get secrets kube-system/bootstrap-token-absent"}},
		{name: "server dry run", args: []string{"delete", "abcdef", "--dry-run=server"}, objects: two(),
			stdout: `bootstrap token "abcdef" deleted (server dry run)` + "\n", requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-abcdef"}},
		{name: "--expired deletes only expired tokens and unparsable expirations", args: []string{"delete", "--expired"}, objects: listObjects(),
			stdout:   `bootstrap token "expird" deleted` + "\n",
			requests: []string{listReq, certsReq, "delete secrets kube-system/bootstrap-token-expird"}},
		{name: "--expired with none", args: []string{"delete", "--expired"}, objects: two(),
			stderr: "No expired bootstrap tokens found in kube-system.\n", requests: []string{listReq}},
		{name: "no argument", args: []string{"delete", "-n", "kube-system"}, exit: 1,
			stderr: "error: missing argument: pass the ID or the token to delete (kubectl bootstrap list --namespace=kube-system shows them), or --expired\n"},
		{name: "IDs and --expired", args: []string{"delete", "abcdef", "--expired"}, exit: 1,
			stderr: "error: pass token IDs or --expired, not both\n"},
		{name: "a malformed argument is refused before anything is deleted", args: []string{"delete", "abcdef", "NOPE"}, objects: two(), exit: 1,
			stderr: `error: argument 2 is not a bootstrap token: pass a token ID "[a-z0-9]{6}", a token of the form "[a-z0-9]{6}.[a-z0-9]{16}" or a secure token "K10<sha256 hex>::<id>.<secret>" (kubectl bootstrap generate makes one)` + "\n"},
	})
}

func TestDeleteWarnsBeforeTheKubeadmCertsProxy(t *testing.T) {
	objs := func() []runtime.Object {
		return []runtime.Object{listObjects()[0], proxyToken("2026-11-22T06:00:00Z"), certsSecret(t, certKey, proxyID)}
	}
	warning := `warning: bootstrap token "proxy1" is the proxy of kube-system/kubeadm-certs: deleting it deletes the control-plane certificates with it; ` +
		"to join control-plane nodes afterwards, run 'kubeadm init phase upload-certs --upload-certs' on a control-plane node\n"
	runTable(t, []cmdCase{
		{name: "the proxy", args: []string{"delete", "abcdef", proxyID}, objects: objs(),
			stdout:   `bootstrap token "abcdef" deleted` + "\n" + `bootstrap token "proxy1" deleted` + "\n",
			stderr:   warning,
			requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-abcdef", "delete secrets kube-system/bootstrap-token-proxy1"}},
		{name: "another token: no warning", args: []string{"delete", "abcdef"}, objects: objs(),
			stdout:   `bootstrap token "abcdef" deleted` + "\n",
			requests: []string{certsReq, "delete secrets kube-system/bootstrap-token-abcdef"}},
	})
}

func TestDeleteExpiredSendsTheListedUID(t *testing.T) {
	fixClock(t)
	c := cmdCase{args: []string{"delete", "--expired"}, objects: []runtime.Object{
		rawSecret("bootstrap-token-badexp", map[string]string{"token-id": "badexp", "token-secret": "0123456789abcdef", "expiration": "tomorrow"}),
	}, stdout: `bootstrap token "badexp" deleted` + "\n", requests: []string{listReq, certsReq, "delete secrets kube-system/bootstrap-token-badexp"}}
	f := c.run(t)
	var uid string
	for _, a := range f.Core.Actions() {
		if d, ok := a.(interface {
			GetDeleteOptions() metav1.DeleteOptions
		}); ok && d.GetDeleteOptions().Preconditions != nil && d.GetDeleteOptions().Preconditions.UID != nil {
			uid = string(*d.GetDeleteOptions().Preconditions.UID)
		}
	}
	if uid != "uid-bootstrap-token-badexp" {
		t.Errorf("delete precondition UID %q, want the listed Secret's", uid)
	}
}
