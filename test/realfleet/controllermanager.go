package realfleet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

// controllers are the kube-controller-manager controllers Fleet needs on
// its management cluster (docs/fleet-registration.md §8.1): the token
// controller fills the kubernetes.io/service-account-token Secrets Fleet
// creates and waits for; the garbage collector removes what Fleet gives
// ownerReferences (the SA token Secret of a deleted token); the namespace
// controller finishes namespace deletions; the others give every
// namespace its default ServiceAccount and kube-root-ca.crt.
var controllers = []string{"serviceaccount-token-controller", "serviceaccount-controller", "garbage-collector-controller", "namespace-controller", "root-ca-certificate-publisher-controller"}

// controllerManager is a running kube-controller-manager.
type controllerManager struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startControllerManager runs kube-controller-manager against env with
// the apiserver's service-account signing key, serving nothing (no port
// to clash) and without leader election.
func startControllerManager(env *testenv.Env, bin, dir string) (*controllerManager, error) {
	ca := filepath.Join(dir, "apiserver-ca.crt")
	if err := os.WriteFile(ca, env.Config.CAData, 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+env.Kubeconfig,
		"--controllers="+strings.Join(controllers, ","),
		"--service-account-private-key-file="+filepath.Join(env.APIServer().CertDir, "sa-signer.key"),
		"--root-ca-file="+ca,
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-serviceaccount-token-syncs=5",
	)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting kube-controller-manager: %w", err)
	}
	cm := &controllerManager{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(cm.exited)
	}()
	return cm, nil
}

// stop ends kube-controller-manager (SIGTERM, SIGKILL after 10 s).
func (cm *controllerManager) stop() {
	_ = syscall.Kill(-cm.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-cm.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cm.cmd.Process.Pid, syscall.SIGKILL)
		<-cm.exited
	}
}
