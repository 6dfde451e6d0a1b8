package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// auditPolicy logs every request at Metadata level, once: only the
// ResponseComplete (or Panic) stage, so one line is one request.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Metadata
`

// auditArgs writes the policy into dir and returns the kube-apiserver
// flags that log to dir/audit.log.
func auditArgs(dir string) (map[string][]string, string, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
		return nil, "", err
	}
	log := filepath.Join(dir, "audit.log")
	return map[string][]string{
		"audit-policy-file": {policy},
		"audit-log-path":    {log},
		"audit-log-format":  {"json"},
		// Blocking: the event is written before the response goes out,
		// so a finished client's requests are all in the file.
		"audit-log-mode":    {"blocking"},
		"audit-log-maxsize": {"0"},
	}, log, nil
}

// auditEvent is the part of an audit.k8s.io/v1 Event the bench reads.
type auditEvent struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	UserAgent      string `json:"userAgent"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
	StageTimestamp  time.Time `json:"stageTimestamp"`
}

// auditLog reads the apiserver's audit log by offset: what a flow caused
// is what was appended while it ran, by the bench's own user, received
// after it started.
type auditLog struct {
	path string
	user string
}

func (a *auditLog) offset() (int64, error) {
	st, err := os.Stat(a.path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// since returns the complete requests of the bench user appended after
// off and received at or after from.
func (a *auditLog) since(off int64, from time.Time) ([]auditEvent, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[len(line)-1] != '}' {
			continue // a line being written
		}
		var ev auditEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			continue
		}
		if ev.Stage != "ResponseComplete" && ev.Stage != "Panic" {
			continue
		}
		if ev.User.Username != a.user || ev.RequestReceived.Before(from.Truncate(time.Microsecond)) {
			continue
		}
		out = append(out, ev)
	}
	return out, sc.Err()
}

// settle waits until the flow's requests stop arriving: a watch is logged
// when the server sees the client go, a moment after the process exited.
func (a *auditLog) settle(ctx context.Context, off int64, from time.Time) ([]auditEvent, error) {
	var last []auditEvent
	stable := 0
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := a.since(off, from)
		if err != nil {
			return nil, err
		}
		if len(evs) == len(last) && len(evs) > 0 {
			stable++
			if stable >= 3 {
				return evs, nil
			}
		} else {
			stable = 0
		}
		last = evs
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
	}
	return last, nil
}

// requestClass sorts a request: discovery (/api, /apis, group-version
// documents, /openapi/*), /version, or a request for objects.
func requestClass(uri string) string {
	u, err := url.Parse(uri)
	path := uri
	if err == nil {
		path = u.Path
	}
	path = strings.TrimSuffix(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case strings.HasPrefix(path, "/openapi"):
		return "discovery"
	case path == "/version":
		return "version"
	case parts[0] == "api" && len(parts) <= 2:
		return "discovery"
	case parts[0] == "apis" && len(parts) <= 3:
		return "discovery"
	}
	return "object"
}

// client is the program that sent a request, from its User-Agent
// ("kubectl/v1.32.4 (linux/amd64) ..." → "kubectl").
func client(ua string) string {
	name, _, _ := strings.Cut(ua, "/")
	if name == "" {
		return "?"
	}
	return name
}

// flowCount is what one run of a flow sent.
type flowCount struct {
	Total, Object, Discovery, Version int
	ByClient                          map[string]int
	Lines                             []string // "client VERB path?query -> code"
	// ServerMs is the time the apiserver spent on the requests other than
	// watches (received → response complete), summed.
	ServerMs float64
}

func countFlow(evs []auditEvent) flowCount {
	fc := flowCount{ByClient: map[string]int{}}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].RequestReceived.Before(evs[j].RequestReceived) })
	for _, ev := range evs {
		fc.Total++
		switch requestClass(ev.RequestURI) {
		case "discovery":
			fc.Discovery++
		case "version":
			fc.Version++
		default:
			fc.Object++
		}
		c := client(ev.UserAgent)
		fc.ByClient[c]++
		if ev.Verb != "watch" && !ev.StageTimestamp.IsZero() {
			fc.ServerMs += float64(ev.StageTimestamp.Sub(ev.RequestReceived)) / 1e6
		}
		code := 0
		if ev.ResponseStatus != nil {
			code = ev.ResponseStatus.Code
		}
		fc.Lines = append(fc.Lines, fmt.Sprintf("%s %s %s → %d", c, strings.ToUpper(ev.Verb), redactQuery(ev.RequestURI), code))
	}
	return fc
}

// redactQuery keeps a request line readable: long continue tokens and
// resource versions are shortened.
func redactQuery(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	q := u.Query()
	for _, k := range []string{"continue", "resourceVersion", "hash"} {
		if v := q.Get(k); len(v) > 8 {
			q.Set(k, "…")
		}
	}
	if len(q) == 0 {
		return u.Path
	}
	s, _ := url.QueryUnescape(q.Encode())
	return u.Path + "?" + s
}
