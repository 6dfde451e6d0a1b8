package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
)

// StopAPIServer stops the running kube-apiserver (SIGTERM, as an operator's
// restart would) and waits for it to exit; etcd keeps running. Clients see
// connection refused until StartAPIServer.
func (e *Env) StopAPIServer() error {
	if e.restarted != nil {
		err := e.restarted.Process.Signal(syscall.SIGTERM)
		_ = e.restarted.Wait()
		e.restarted = nil
		return err
	}
	pid, args, err := e.findAPIServer()
	if err != nil {
		return err
	}
	e.apiserverArgs = args
	proc, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	// Graceful shutdown can wait on open watches for a long time; an
	// operator's restart ends with a kill too.
	if waitGone(pid, 10*time.Second) {
		return nil
	}
	_ = proc.Signal(syscall.SIGKILL)
	if waitGone(pid, 30*time.Second) {
		return nil
	}
	return fmt.Errorf("kube-apiserver (pid %d) did not stop", pid)
}

// waitGone reports whether pid exited (or is a zombie envtest has yet to
// reap) within d.
func waitGone(pid int, d time.Duration) bool {
	stat := filepath.Join("/proc", strconv.Itoa(pid), "stat")
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return true
		}
		// "pid (comm) S ...": the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// StartAPIServer starts kube-apiserver again with exactly the arguments
// (port, certificates, etcd) it had, so every client's kubeconfig stays
// valid, and returns once it is ready.
func (e *Env) StartAPIServer() error {
	if e.apiserverArgs == nil {
		return errors.New("StartAPIServer without StopAPIServer")
	}
	api := e.APIServer()
	cmd := exec.Command(api.Path, e.apiserverArgs[1:]...)
	cmd.Stdout, cmd.Stderr = api.Out, api.Err
	if err := cmd.Start(); err != nil {
		return err
	}
	e.restarted = cmd
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && string(body) == "ok" {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("kube-apiserver did not become ready after restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// findAPIServer finds envtest's kube-apiserver process by its binary and
// certificate directory, and returns its pid and argv.
func (e *Env) findAPIServer() (int, []string, error) {
	api := e.APIServer()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, nil, err
	}
	certDirArg := []byte("--cert-dir=" + api.CertDir)
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil || len(raw) == 0 {
			continue
		}
		argv := bytes.Split(bytes.TrimSuffix(raw, []byte{0}), []byte{0})
		if string(argv[0]) != api.Path {
			continue
		}
		for _, a := range argv[1:] {
			if bytes.Equal(a, certDirArg) {
				args := make([]string, len(argv))
				for i, b := range argv {
					args[i] = string(b)
				}
				return pid, args, nil
			}
		}
	}
	return 0, nil, fmt.Errorf("no kube-apiserver process with --cert-dir=%s", api.CertDir)
}
