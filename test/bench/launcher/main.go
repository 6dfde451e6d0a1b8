// Command launcher starts one measured process for the benchmarks and
// reports its wall time and peak RSS.
//
//	launcher RESULT-FILE PATH ARGV0 [ARG...]
//
// Why a separate, tiny program: Go starts children with vfork semantics
// (CLONE_VM), so until exec the child shares its parent's memory, and
// Linux folds that memory's high-water mark into the child's ru_maxrss.
// Started straight from the bench (tens of MiB, and growing), every child
// would report at least the bench's size. Started from this launcher, the
// floor is the launcher's own small peak, which the bench measures and
// reports. It writes "startUnixNano endUnixNano wallNanos maxrssKiB" to
// RESULT-FILE and exits with the child's status.
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		os.Stderr.WriteString("usage: launcher RESULT-FILE PATH ARGV0 [ARG...]\n")
		os.Exit(2)
	}
	result, path, argv := os.Args[1], os.Args[2], os.Args[3:]
	attr := &os.ProcAttr{Env: os.Environ(), Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}}
	start := time.Now()
	p, err := os.StartProcess(path, argv, attr)
	if err != nil {
		os.Stderr.WriteString("launcher: " + err.Error() + "\n")
		os.Exit(127)
	}
	st, err := p.Wait()
	end := time.Now()
	if err != nil {
		os.Stderr.WriteString("launcher: " + err.Error() + "\n")
		os.Exit(127)
	}
	var maxrss int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		maxrss = ru.Maxrss
	}
	line := strconv.FormatInt(start.UnixNano(), 10) + " " + strconv.FormatInt(end.UnixNano(), 10) + " " +
		strconv.FormatInt(int64(end.Sub(start)), 10) + " " + strconv.FormatInt(maxrss, 10) + "\n"
	if err := os.WriteFile(result, []byte(line), 0o600); err != nil {
		os.Stderr.WriteString("launcher: " + err.Error() + "\n")
		os.Exit(127)
	}
	code := st.ExitCode()
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	os.Exit(code)
}
