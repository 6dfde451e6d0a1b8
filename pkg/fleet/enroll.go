package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fanout"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
)

// ClusterGVR is Fleet's Cluster: a credential naming one that this
// manager does not have belongs to another manager.
var ClusterGVR = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusters"}

// StatusRegisteredElsewhere is a cluster whose agent holds a working
// credential of another Fleet manager.
const StatusRegisteredElsewhere = "RegisteredElsewhere"

// EnrollOptions is what to enroll, as the command's flags say it.
type EnrollOptions struct {
	// Mode is ModeAgent ("" too) or ModeManager (managed.go), with its
	// CredentialTTL and KubeconfigSecretNamespace.
	Mode                      string
	CredentialTTL             string
	KubeconfigSecretNamespace string
	Contexts                  []string
	TokenName                 string
	ReuseToken                string
	// TTL is --ttl as given; "" is the default, a TTL that covers the run.
	TTL              string
	ClientIDs        []string
	Helm             string
	Chart            string
	RepoURL          string
	Reregister       bool
	WaitRegistration bool
	KeepToken        bool
	Timeout          time.Duration
	Parallel         int
	// MaxFailures stops starting clusters once more than it allows
	// failed; the rest are reported NotStarted, for a re-run to resume.
	MaxFailures fanout.MaxFailures
	// WaveSize registers the clusters in waves of this many, each with
	// a token of its own (0: one wave).
	WaveSize int
	// ContextLabels are labels of one context (an inventory's), as
	// KEY=VALUE; they win over --label on the same key.
	ContextLabels map[string][]string
	DryRun        string
	// Kubeconfig is --kubeconfig, passed on to helm.
	Kubeconfig string
	Install    InstallOptions
	// Deadline bounds the run by Timeout (context.WithTimeout when nil);
	// tests end it on an event instead of the clock.
	Deadline func(context.Context, time.Duration) (context.Context, context.CancelFunc)
}

// Enroller registers downstream clusters with the Fleet manager of the
// current context, agent-initiated: one token, a helm install of the agent
// per cluster, a wait for each registration and its credential. It owns
// the sequence; the command only binds flags and prints. It never sees
// cobra.
type Enroller struct {
	EnrollOptions
	// Changed is told of every state change of a cluster (progress).
	Changed func(cl *EnrolledCluster, state, detail string)
	// Said is told of a line for the user on the way (the token's
	// headline, notes before the installs).
	Said func(line string)

	f         cli.Clients
	m         *Manager
	namespace string
	ttlSpec   string
	ttlNote   string
	ttlWarn   string
	clusters  []*EnrolledCluster
	labels    map[string][]Label // per context: --label, then the inventory's
	tokenGone atomic.Bool        // the token was deleted while agents registered
	helmPath  string
	chart     ChartRef
	credTTL   time.Duration
	// loopbackWarnings: manager mode's contexts on loopback addresses.
	loopbackWarnings []string
}

// DefaultTTLMargin is how much longer than --timeout the default token
// lives: it covers the run, and the token is deleted at its end anyway.
const DefaultTTLMargin = 10 * time.Minute

// NewEnroller resolves what needs no request: the namespace, the TTL, the
// helm binary, the chart and the management clients.
func NewEnroller(f cli.Clients, o EnrollOptions) (*Enroller, error) {
	e := &Enroller{EnrollOptions: o, f: f}
	var err error
	if e.namespace, _, err = f.Namespace(); err != nil {
		return nil, err
	}
	if err := e.validateMode(); err != nil {
		return nil, err
	} else if o.Mode == ModeManager {
		return e, e.completeManaged()
	}
	if err := e.resolveTTL(); err != nil {
		return nil, err
	}
	if e.m, err = NewManager(f, e.namespace); err != nil {
		return nil, err
	}
	if e.Install.Mode, e.Install.ValuesFile = WriteValues, "-"; o.DryRun != dryrun.None {
		if err := e.Install.CompleteLabels(); err != nil {
			return nil, err
		}
	} else if err := e.Install.Complete(f); err != nil {
		return nil, err
	}
	if o.DryRun == dryrun.None {
		if e.helmPath, err = HelmBinary(o.Helm); err != nil {
			return nil, err
		}
	}
	e.chart = ParseChart(o.Chart)
	return e, nil
}

// resolveTTL turns --ttl into spec.ttl. Without --ttl the token lives the
// run's --timeout plus a margin: enough for every agent to register, and
// never a credential that outlives its purpose.
func (e *Enroller) resolveTTL() error {
	if e.ReuseToken != "" {
		return nil
	}
	if e.TTL == "" {
		d := e.Timeout + DefaultTTLMargin
		if e.WaveSize > 0 && e.Timeout > MaxWave {
			d = MaxWave + DefaultTTLMargin
			e.ttlSpec = goDuration(d)
			e.ttlNote = fmt.Sprintf("each wave's token lives %s (a wave takes at most %s, plus %s) and is deleted once every cluster of the wave holds its own credential; pass --ttl to choose", ttl.Format(d), ttl.Format(MaxWave), ttl.Format(DefaultTTLMargin))
			return nil
		}
		e.ttlSpec = goDuration(d)
		e.ttlNote = fmt.Sprintf("the token lives %s (--timeout plus %s) and is deleted once every cluster holds its own credential; pass --ttl to choose", ttl.Format(d), ttl.Format(DefaultTTLMargin))
		return nil
	}
	v, err := ttl.Parse("--ttl", e.TTL)
	if err != nil {
		return err
	}
	if e.ttlSpec, e.ttlNote, err = TTLSpec("--ttl", v); err != nil {
		return err
	}
	if !v.Never {
		e.ttlWarn = ttl.ShortWarning(v.Duration)
	}
	if e.ttlSpec == "" {
		e.ttlWarn = NeverExpiresWarning("")
	}
	return nil
}

// Namespace is where the token and the registrations live.
func (e *Enroller) Namespace() string { return e.namespace }

// Clusters are the downstream clusters, in the order given.
func (e *Enroller) Clusters() []*EnrolledCluster { return e.clusters }

// Validate checks every input before any request: the flags, the
// contexts and the client IDs. It reads no cluster.
func (e *Enroller) Validate() error {
	if err := e.validateMode(); err != nil {
		return err
	}
	if e.Mode == ModeManager {
		return e.validateManaged()
	}
	switch {
	case e.TokenName != "" && e.ReuseToken != "":
		return errors.New("--token-name and --reuse-token both given: pass one (a new token's name, or an existing token)")
	case e.ReuseToken != "" && e.TTL != "":
		return errors.New("--ttl applies to a new token; --reuse-token keeps the token's own ttl: leave out one of them")
	case e.ReuseToken != "" && e.KeepToken:
		return errors.New("--keep-token applies to a token enroll creates; a --reuse-token token is never deleted: leave out --keep-token")
	case e.Timeout <= 0:
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 10m", e.Timeout)
	case e.WaveSize < 0:
		return fmt.Errorf("--wave-size %d is negative: pass how many clusters share a token, or 0 for one token", e.WaveSize)
	case e.WaveSize > 0 && e.TokenName != "":
		return errors.New("--wave-size creates a token per wave, with generated names (enroll-…): leave out --token-name")
	case e.WaveSize > 0 && e.ReuseToken != "":
		return errors.New("--wave-size gives every wave a token of its own; --reuse-token names one: leave out one of them")
	case e.Parallel < 1:
		return fmt.Errorf("--parallel %d is less than 1: pass how many helm installs may run at once, e.g. --parallel 8", e.Parallel)
	}
	if err := ValidateNamespace(e.namespace); err != nil {
		return err
	}
	for _, n := range []string{e.TokenName, e.ReuseToken} {
		if n != "" {
			if err := ValidateName(n); err != nil {
				return err
			}
		}
	}
	if err := dryrun.ValidateClient(e.DryRun, "helm and the registration have no server dry run"); err != nil {
		return err
	}
	if err := e.Install.Validate(); err != nil {
		return err
	}
	if err := e.chart.validate(e.Install.ChartVersion, e.RepoURL); err != nil {
		return err
	}
	if err := e.resolveLabels(); err != nil {
		return err
	}
	return e.resolveContexts()
}

// resolveLabels merges every context's inventory labels over --label.
func (e *Enroller) resolveLabels() error {
	e.labels = map[string][]Label{}
	for ctxName, kvs := range e.ContextLabels {
		own, _, err := ParseLabels(kvs)
		if err != nil {
			return fmt.Errorf("the labels of context %s: %w", ctxName, err)
		}
		merged := map[string]string{}
		for _, l := range e.Install.ParsedLabels() {
			merged[l.Key] = l.Value
		}
		for _, l := range own {
			merged[l.Key] = l.Value
		}
		e.labels[ctxName] = sortedLabels(merged)
	}
	return nil
}

// labelsFor is the labels cluster cl is given: its inventory's over
// --label; with neither, on --reregister, the installed ones.
func (e *Enroller) labelsFor(cl *EnrolledCluster) []Label {
	if l, ok := e.labels[cl.Context]; ok {
		return l
	}
	if len(e.Install.ParsedLabels()) == 0 && len(cl.installedLabels) > 0 {
		return sortedLabels(cl.installedLabels)
	}
	return e.Install.ParsedLabels()
}

// resolveContexts checks the downstream contexts against the kubeconfig
// and assigns the client IDs.
func (e *Enroller) resolveContexts() error {
	names, current, err := e.f.KubeconfigContexts()
	if err != nil {
		return err
	}
	mgmt, err := e.f.CurrentCluster()
	if err != nil {
		return err
	}
	if err := cli.CheckDownstream(e.f, e.Contexts, names, current, management); err != nil {
		return err
	}
	e.clusters = nil
	for _, name := range e.Contexts {
		cl := &EnrolledCluster{Context: name, Status: StatusPending, Release: AgentNamespace + "/" + AgentRelease}
		if err := cl.connect(e.f); err != nil {
			return err
		}
		if dc, err := cl.clients.CurrentCluster(); err == nil && dc.Server != "" && dc.Server == mgmt.Server {
			return fmt.Errorf("context %q reaches the Fleet management cluster itself (server %s, as the current context): name downstream contexts; nothing was created", name, dc.Server)
		}
		e.clusters = append(e.clusters, cl)
	}
	return e.assignClientIDs()
}

// assignClientIDs applies --client-id: ID with one context, CONTEXT=ID
// with several.
func (e *Enroller) assignClientIDs() error {
	byContext := map[string]*EnrolledCluster{}
	for _, cl := range e.clusters {
		byContext[cl.Context] = cl
	}
	for _, v := range e.ClientIDs {
		ctxName, id, ok := strings.Cut(v, "=")
		cl := byContext[ctxName]
		switch {
		case ok && cl != nil:
		case ok:
			return fmt.Errorf("--client-id %q names context %q, which is not among the contexts to enroll: pass --client-id CONTEXT=ID with one of %s (an ID cannot contain '=')", v, ctxName, strings.Join(e.Contexts, ", "))
		case len(e.clusters) == 1:
			cl, id = e.clusters[0], v
		default:
			return fmt.Errorf("--client-id %q names no downstream context: with several contexts pass --client-id CONTEXT=ID for each", v)
		}
		if cl.configured {
			return fmt.Errorf("--client-id is given twice for context %q: pass one ID per context", cl.Context)
		}
		if id == "" {
			return fmt.Errorf("--client-id for context %q is empty: pass an ID, or leave it out for the kube-system UID", cl.Context)
		}
		if !utf8.ValidString(id) {
			return fmt.Errorf("--client-id for context %q is not valid UTF-8: helm would pass it on altered; fix the value", cl.Context)
		}
		if err := CheckClientID(id); err != nil {
			return err
		}
		cl.ClientID, cl.configured = id, true
	}
	owner := map[string]string{}
	for _, cl := range e.clusters {
		if !cl.configured {
			continue
		}
		if other, dup := owner[cl.ClientID]; dup {
			return fmt.Errorf("contexts %q and %q would both get client ID %q and become one Fleet Cluster: give each its own --client-id CONTEXT=ID", other, cl.Context, cl.ClientID)
		}
		owner[cl.ClientID] = cl.Context
	}
	return nil
}

// newEnrollment is the result object before anything ran.
func (e *Enroller) newEnrollment() *Enrollment {
	res := &Enrollment{HelmRepoAdd: []string{}, HelmRepoUpdate: []string{}, Warnings: []string{}, Notes: []string{}, Clusters: e.clusters, Namespace: e.namespace}
	res.SetGroupVersionKind(EnrollGVK)
	res.Warnings = append(res.Warnings, e.Install.FlagWarnings()...)
	if e.ttlWarn != "" {
		res.Warnings = append(res.Warnings, e.ttlWarn)
	}
	return res
}

// Plan is what a client dry run prints: the token, and the commands that
// would run (helm, and kubectl for --reregister), shell-quoted, computed
// without a request.
func (e *Enroller) Plan() (res *Enrollment, token string, commands []string) {
	res = e.newEnrollment()
	token = e.ReuseToken
	if token == "" {
		obj := e.tokenSpec().Object(e.namespace)
		token = obj.GetName()
		if token == "" {
			token = obj.GetGenerateName() + "<generated>"
		}
		res.Created = true
		if e.ttlNote != "" {
			res.Notes = append(res.Notes, e.ttlNote)
		}
	}
	res.Token = token
	if e.chart.repo == HelmRepoName {
		res.HelmRepoAdd, res.HelmRepoUpdate = RepoAddArgvFor(e.RepoURL), RepoUpdateArgv()
		commands = append(commands, shellquote.Join(res.HelmRepoAdd), shellquote.Join(res.HelmRepoUpdate))
	}
	h := e.helmInstall(HelmInstall{Labels: e.Install.ParsedLabels(), ValuesFile: "-", ChartVersion: e.Install.ChartVersion, APIServerURL: e.Install.APIServerURL, APIServerCAFile: e.Install.APIServerCAFile})
	for _, cl := range e.clusters {
		commands = append(commands, shellquote.Join(e.argvFor(h, cl)))
		if e.Reregister {
			commands = append(commands,
				cl.downstreamHint("delete", "secret", AgentCredentialSecret, "-n", AgentNamespace, "--ignore-not-found"),
				cl.downstreamHint("rollout", "restart", "deployment/"+AgentRelease, "-n", AgentNamespace))
		}
	}
	return res, token, commands
}

func (e *Enroller) tokenSpec() TokenSpec {
	s := TokenSpec{Name: e.TokenName, TTL: e.ttlSpec}
	if s.Name == "" {
		s.GenerateName = enrollPrefix
	}
	return s
}

const enrollPrefix = "enroll-"

// helmInstall completes the install every cluster shares.
func (e *Enroller) helmInstall(h HelmInstall) HelmInstall {
	h.Upgrade, h.Kubeconfig, h.Chart = true, e.Kubeconfig, e.Chart
	return h
}

// argvFor is cluster cl's helm argv: its context, and the client ID and
// labels it keeps.
func (e *Enroller) argvFor(h HelmInstall, cl *EnrolledCluster) []string {
	h.KubeContext, h.ClientID = cl.Context, ""
	if cl.configured {
		h.ClientID = cl.ClientID
	}
	h.Labels = e.labelsFor(cl)
	return h.Argv()
}

// Run enrolls: checks, token, installs, registrations, clean-up. The
// result says what happened on every cluster; tok is the token used (nil
// when none was needed), for the command's re-run hint.
func (e *Enroller) Run(ctx context.Context) (*Enrollment, *Token, error) {
	deadline := e.Deadline
	if deadline == nil {
		deadline = context.WithTimeout
	}
	ctx, cancel := deadline(ctx, e.Timeout)
	defer cancel()
	res := e.newEnrollment()
	if e.Mode == ModeManager {
		return e.runManaged(ctx, res)
	}

	// Everything that can refuse the run comes before the token.
	facts, err := e.preflight(ctx, res)
	if err != nil {
		return nil, nil, err
	}
	if err := e.checkTTLRequirement(facts); err != nil {
		return nil, nil, err
	}
	e.chooseChartVersion(facts, res)
	pending := e.pending()
	if len(pending) == 0 {
		res.Notes = append(res.Notes, "no token was created: no cluster is left to install")
		return res, nil, nil
	}
	if err := e.prepareChart(ctx, res); err != nil {
		return nil, nil, err
	}

	for _, cl := range e.clusters {
		if cl.Status != StatusPending {
			e.changed(cl, cl.Status, cl.Error)
		}
	}
	pool := fanout.New(e.Parallel, e.MaxFailures.Limit(len(pending)), e.MaxFailures.String())
	waves := e.waves(pending)
	var tok *Token
	for i, wave := range waves {
		wtok, err := e.runWave(ctx, res, i, len(waves), wave, pool)
		switch {
		case err != nil && i == 0:
			return nil, nil, err
		case err != nil:
			// Earlier waves are done: this one and the rest fail alone,
			// for a re-run to resume.
			for _, w := range waves[i:] {
				for _, cl := range w {
					cl.fail(fmt.Errorf("wave %d of %d could not start: %w", i+1, len(waves), err))
					e.changed(cl, cl.Status, cl.Error)
				}
			}
			return res, tok, nil
		}
		tok = wtok
	}
	return res, tok, nil
}

// MaxWave bounds one wave: Fleet deletes a granted credential's Secret
// 40 minutes after the grant (docs/fleet-registration.md), so a wave's
// token and wait must end well before.
const MaxWave = 30 * time.Minute

// waves splits the pending clusters into waves of WaveSize (0: one wave).
func (e *Enroller) waves(pending []*EnrolledCluster) [][]*EnrolledCluster {
	if e.WaveSize <= 0 || e.WaveSize >= len(pending) {
		return [][]*EnrolledCluster{pending}
	}
	var out [][]*EnrolledCluster
	for len(pending) > 0 {
		n := min(e.WaveSize, len(pending))
		out = append(out, pending[:n])
		pending = pending[n:]
	}
	return out
}

// runWave registers one wave of clusters with a token of its own: create
// it (or reuse --reuse-token), install, wait, and delete it once every
// cluster of the wave holds its own credential. With waves, each is
// bounded by MaxWave as well as by the run's --timeout.
func (e *Enroller) runWave(ctx context.Context, res *Enrollment, i, n int, wave []*EnrolledCluster, pool *fanout.Pool) (*Token, error) {
	if n > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, MaxWave)
		defer cancel()
	}
	notes, warnings := len(res.Notes), len(res.Warnings)
	e.tokenGone.Store(false)
	tok, fail, err := e.obtainToken(ctx, res)
	if err != nil {
		return nil, err
	}
	if i == 0 {
		e.say(res)
	} else {
		// The notes and warnings were said with the first wave.
		res.Notes, res.Warnings = res.Notes[:notes], res.Warnings[:warnings]
		if e.Said != nil {
			e.Said(res.headline)
		}
	}
	if n > 1 {
		w := EnrollWave{Token: tok.Name, Clusters: []string{}}
		for _, cl := range wave {
			w.Clusters = append(w.Clusters, cl.Context)
		}
		res.Waves = append(res.Waves, w)
	}
	var watch *registrationWatch
	if e.WaitRegistration {
		if watch, err = startRegistrationWatch(ctx, e.m.Dyn, tok.Namespace, tok.Name, e.Reregister); err != nil {
			return nil, fail(err)
		}
		stop := e.watchTokenGone(ctx, tok, watch)
		defer stop()
	}
	e.installAll(ctx, tok, res, wave, pool, watch)
	if e.tokenGone.Load() {
		res.TokenGone = true
	}
	// One token for the run: a cluster that failed before the token (in
	// preflight) keeps it for the re-run too.
	scope := wave
	if n == 1 {
		scope = e.clusters
	}
	e.cleanUp(res, tok, scope)
	return tok, nil
}

// preflight reads, all at once, what can refuse the run before a token
// exists: the controller's Deployment, the permissions, the management
// cluster's kube-system and every downstream cluster. Two contexts of one
// cluster, or one of the management cluster, refuse the run; a cluster
// that cannot be read fails alone.
func (e *Enroller) preflight(ctx context.Context, res *Enrollment) (ControllerFacts, error) {
	var facts ControllerFacts
	var mgmtUID string
	var access error
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { facts = e.m.Controller(gctx); return nil })
	g.Go(func() error {
		// Best effort: without the permission, the server comparison of
		// Validate is what we have.
		mgmtUID, _ = KubeSystemUID(gctx, e.m.Core)
		return nil
	})
	g.Go(func() error {
		checks := []Access{}
		if e.ReuseToken == "" {
			checks = append(checks, AccessCreateToken, AccessReadValues)
			if !e.KeepToken {
				checks = append(checks, AccessDeleteToken)
			}
		} else {
			checks = append(checks, AccessReadValues)
		}
		if e.WaitRegistration {
			checks = append(checks, AccessListRequests, AccessWatchRequests)
		}
		access = e.m.CheckAccess(gctx, "enroll", checks...)
		return nil
	})
	for _, cl := range e.clusters {
		g.Go(func() error {
			if err := e.preflightCluster(gctx, cl); err != nil {
				cl.fail(err)
			}
			return nil
		})
	}
	_ = g.Wait()
	if access != nil {
		return facts, access
	}
	if err := checkDistinctClusters(e.clusters, mgmtUID); err != nil {
		return facts, err
	}
	for _, cl := range e.clusters {
		if l := e.labelsFor(cl); cl.previous != nil && len(l) > 0 && len(cl.installedLabels) > 0 && !sameLabels(cl.installedLabels, l) {
			res.Notes = append(res.Notes, fmt.Sprintf("context %s: --label replaces the installed labels %s", cl.Context, formatLabels(cl.installedLabels)))
		}
	}
	return facts, nil
}

// preflightCluster reads one downstream cluster: its kube-system UID (the
// default client ID), whether an agent is registered already and with
// which manager, and, for --reregister, the identity to keep.
func (e *Enroller) preflightCluster(ctx context.Context, cl *EnrolledCluster) error {
	uid, err := KubeSystemUID(ctx, cl.core)
	if err != nil {
		return fmt.Errorf("context %s: %w", cl.Context, err)
	}
	cl.kubeSystemUID = uid
	if !cl.configured {
		cl.ClientID = uid
	}
	cred, err := cl.readCredential(ctx, AgentNamespace)
	if err != nil {
		return err
	}
	if cred != nil {
		mine, err := e.ownsCredential(ctx, cred)
		if err != nil {
			return err
		}
		switch {
		case !mine && !e.Reregister:
			cl.Status, cl.Cluster = StatusRegisteredElsewhere, cred.ClusterName
			cl.Error = fmt.Sprintf("the agent is registered with another Fleet manager (%s, as Cluster %s/%s): pass --reregister to move it to this one", orUnknown(cred.Server), cred.ClusterNamespace, cred.ClusterName)
			return nil
		case !e.Reregister:
			cl.Status, cl.Cluster = StatusAlreadyRegistered, cred.ClusterName
			return nil
		}
		cl.previous = cred
	}
	if !e.Reregister {
		return nil
	}
	// --reregister keeps the cluster's identity: the client ID and labels
	// it was installed with, unless new ones are given.
	id, labels, found, err := cl.identity(ctx, AgentNamespace)
	if err != nil {
		return err
	}
	switch {
	case cl.configured && found && id != "" && id != cl.ClientID:
		e.note(fmt.Sprintf("context %s: --client-id changes the client ID from %s to %s: the cluster registers as another Fleet Cluster", cl.Context, id, cl.ClientID))
	case !cl.configured && id != "":
		cl.ClientID, cl.configured = id, true
	}
	cl.installedLabels = labels
	return nil
}

// ownsCredential tells whether a downstream credential belongs to this
// manager: the Fleet Cluster it names exists here. When that cannot be
// read, the credential's server is compared with the addresses this
// manager is known by.
func (e *Enroller) ownsCredential(ctx context.Context, cred *Credential) (bool, error) {
	if cred.ClusterNamespace != "" && cred.ClusterName != "" {
		_, err := e.m.Dyn.Resource(ClusterGVR).Namespace(cred.ClusterNamespace).Get(ctx, cred.ClusterName, metav1.GetOptions{})
		switch {
		case err == nil:
			return true, nil
		case apierrors.IsNotFound(err) && !apierror.IsNotServedError(err):
			return false, nil
		}
	}
	if cred.Server == "" {
		return true, nil
	}
	known := []string{e.Install.APIServerURL}
	if mgmt, err := e.f.CurrentCluster(); err == nil {
		known = append(known, mgmt.Server)
	}
	return slices.Contains(known, cred.Server), nil
}

func orUnknown(s string) string {
	if s == "" {
		return "server unknown"
	}
	return s
}

func (e *Enroller) warn(s string) {
	if e.Said != nil {
		e.Said("warning: " + s)
	}
}

func (e *Enroller) note(s string) {
	if e.Said != nil {
		e.Said("note: " + s)
	}
}

func (e *Enroller) pending() []*EnrolledCluster {
	var out []*EnrolledCluster
	for _, cl := range e.clusters {
		if cl.Status == StatusPending {
			out = append(out, cl)
		}
	}
	return out
}

// checkTTLRequirement refuses a TTL-less new token on a controller that
// deletes such tokens at once, and says when that cannot be known.
func (e *Enroller) checkTTLRequirement(facts ControllerFacts) error {
	if e.ReuseToken != "" || e.ttlSpec != "" {
		return nil
	}
	if !facts.known {
		e.warn(fmt.Sprintf("whether the Fleet controller requires a TTL is unknown (%s): if it does, it deletes this token at once; pass --ttl to be safe", facts.readErr))
		return nil
	}
	if facts.ttlRequired {
		return fmt.Errorf("the Fleet controller requires a TTL (%s=true on Deployment %s/%s) and deletes a token without one at once: pass --ttl, e.g. --ttl 1h; nothing was created", TtlRequiredEnv, ControllerNamespace, ControllerDeployment)
	}
	return nil
}

// chooseChartVersion defaults --chart-version to the controller's
// version for repository and oci:// charts (a local chart has its own).
func (e *Enroller) chooseChartVersion(facts ControllerFacts, res *Enrollment) {
	in := &e.Install
	if in.ChartVersion != "" || e.chart.local {
		return
	}
	if facts.version == "" {
		res.Notes = append(res.Notes, facts.unknownVersionNote())
		return
	}
	in.ChartVersion = facts.version
	res.Notes = append(res.Notes, fmt.Sprintf("fleet-agent chart version %s, the Fleet controller's (image %s)", facts.version, facts.image))
}

// prepareChart adds and refreshes the fleet repository and checks that
// the chart can be had, before the token exists.
func (e *Enroller) prepareChart(ctx context.Context, res *Enrollment) error {
	if e.chart.repo == HelmRepoName {
		res.HelmRepoAdd, res.HelmRepoUpdate = RepoAddArgvFor(e.RepoURL), RepoUpdateArgv()
		for _, argv := range [][]string{res.HelmRepoAdd, res.HelmRepoUpdate} {
			if err := RunHelm(ctx, e.helmPath, argv, nil); err != nil {
				return fmt.Errorf("%w; fix the repository (helm repo list) or pass --chart with a local chart; nothing was created", err)
			}
		}
	}
	if e.chart.local {
		return nil
	}
	argv := []string{"helm", "show", "chart", e.Chart}
	if e.Install.ChartVersion != "" {
		argv = append(argv, "--version", e.Install.ChartVersion)
	}
	if err := RunHelm(ctx, e.helmPath, argv, nil); err != nil {
		return fmt.Errorf("%w; the chart cannot be had: check --chart and --chart-version; nothing was created", err)
	}
	return nil
}

// obtainToken creates the token or reads the one --reuse-token names, and
// waits for its values. fail reports an error after that with what
// exists.
func (e *Enroller) obtainToken(ctx context.Context, res *Enrollment) (*Token, func(error) error, error) {
	var created bool
	var tok *Token
	var err error
	got, created, err := e.tokenToUse(ctx)
	if err != nil {
		return nil, nil, err
	}
	if tok, err = ToToken(got); err != nil {
		return nil, nil, err
	}
	if !created {
		if err := RefuseExpired(e.f, tok, Now()); err != nil {
			return nil, nil, err
		}
	}
	res.Token, res.Namespace, res.Created = tok.Name, tok.Namespace, created
	if created && e.ttlNote != "" {
		res.Notes = append(res.Notes, e.ttlNote)
	}
	fail := e.m.AfterWrite(created, tok, nil)
	tok, secret, err := e.m.WaitValues(ctx, got, e.Timeout, nil, nil)
	if err != nil {
		return nil, nil, fail(err)
	}
	if at, ok := tok.ExpiresAt(); ok {
		res.Expires = at.UTC().Format(time.RFC3339)
	}
	values, err := e.Install.Finish(e.f, tok, secret, Now())
	if err != nil {
		return nil, nil, fail(err)
	}
	res.Warnings = append(res.Warnings, values.Warnings...)
	res.Notes = append(res.Notes, values.Notes...)
	res.values = values
	verb := "exists and is reused"
	if created {
		verb = "created"
	}
	res.headline = fmt.Sprintf("%s/%s %s in namespace %s (%s); its values are ready", ObjectRef, tok.Name, verb, tok.Namespace, ExpiryWords(tok))
	return tok, fail, nil
}

func (e *Enroller) tokenToUse(ctx context.Context) (got *unstructured.Unstructured, created bool, err error) {
	if e.ReuseToken != "" {
		_, got, err := e.m.GetToken(ctx, e.ReuseToken)
		if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
			return nil, false, apierror.Explained(err, "%s %q not found in namespace %q: create one (drop --reuse-token, or pass --token-name) or list them with %s", Kind, e.ReuseToken, e.namespace, Hint(e.f, "list", "-n", e.namespace))
		}
		return got, false, err
	}
	got, created, err = e.m.CreateToken(ctx, e.tokenSpec(), false, dryrun.None)
	if errors.Is(err, ErrExists) {
		return nil, false, apierror.Explained(err, "%s %q already exists in namespace %q: pass --reuse-token %s to use it, or choose another --token-name", Kind, e.TokenName, e.namespace, e.TokenName)
	}
	return got, created, err
}

// say tells the user what happened before the installs.
func (e *Enroller) say(res *Enrollment) {
	if e.Said == nil {
		return
	}
	for _, n := range res.Notes {
		e.Said("note: " + n)
	}
	for _, w := range res.Warnings {
		e.Said("warning: " + w)
	}
	e.Said(res.headline)
}

// installAll installs the agent into every pending cluster (at most
// --parallel helm runs at once) and waits for each registration.
func (e *Enroller) installAll(ctx context.Context, tok *Token, res *Enrollment, wave []*EnrolledCluster, pool *fanout.Pool, watch *registrationWatch) {
	h := e.helmInstall(res.values.install)
	for _, cl := range wave {
		cl.Helm = e.argvFor(h, cl)
		ns := h.Namespace
		if ns == "" {
			ns = AgentNamespace
		}
		cl.Release = ns + "/" + AgentRelease
		pool.Go(func(start fanout.Start) { e.enrollOne(ctx, cl, ns, tok, res.values.stdoutValues, pool, start, watch) })
	}
	pool.Wait()
}

// enrollOne is one cluster's install and registration. With --reregister,
// a failure after the old credential was removed puts it back.
func (e *Enroller) enrollOne(ctx context.Context, cl *EnrolledCluster, ns string, tok *Token, values []byte, pool *fanout.Pool, start fanout.Start, watch *registrationWatch) {
	fail := func(err error) {
		pool.Fail()
		if cl.previous != nil && cl.removed {
			if rerr := cl.restoreCredential(ctx, ns, Now()); rerr != nil {
				err = fmt.Errorf("%w; restoring its previous credential failed too (%s): the cluster is no longer registered; enroll it again", err, apierror.OneLine(rerr.Error()))
			} else {
				err = fmt.Errorf("%w; its previous credential (Cluster %s) was restored, so it stays registered as before", err, cl.previous.ClusterName)
			}
		}
		cl.fail(err)
		e.changed(cl, cl.Status, cl.Error)
	}
	release, ok := e.takeSlot(ctx, cl, start, fail, "before helm ran")
	if !ok {
		return
	}
	e.changed(cl, "installing", "")
	err := RunHelm(ctx, e.helmPath, cl.Helm, values)
	if err == nil && e.Reregister {
		err = cl.reregister(ctx, ns, Now())
		cl.removed = err == nil
	}
	if err != nil {
		if ctx.Err() != nil {
			err = e.stopped(ctx, "while helm ran (helm was interrupted; a release left pending-install or pending-upgrade is explained on the next run)")
		} else {
			err = explainPendingRelease(err, cl, ns)
		}
		// Counted before the slot goes back: the next cluster must not
		// take it past --max-failures.
		fail(err)
		release()
		return
	}
	release()
	if watch == nil {
		cl.Status = StatusInstalled
		e.changed(cl, cl.Status, "")
		return
	}
	e.changed(cl, "waiting for the agent to register", "")
	reg, err := watch.waitGranted(ctx, cl.ClientID, func(r *Registration) {
		shown := cl.last != nil && cl.last.Name == r.Name
		cl.last = r
		if !r.done() && !shown {
			e.changed(cl, "registration "+r.Name+" waits for the Fleet controller", "")
		}
	})
	if err == nil {
		err = e.checkTokenAfterGrant(ctx, tok, reg)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = e.diagnose(ctx, cl, tok, ns)
		}
		fail(err)
		return
	}
	e.changed(cl, "granted as "+reg.Status.ClusterName+"; waiting for the agent to store its credential", "")
	if err := cl.awaitCredential(ctx, ns, reg.Status.ClusterName); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("registration %s was granted as %s, but the agent did not store its credential (Secret %s/%s) within --timeout %s: most often the token was gone at the grant or the agent cannot read its credential upstream; look with %s",
				reg.Name, reg.Status.ClusterName, ns, AgentCredentialSecret, e.Timeout, cl.downstreamHint("logs", "deployment/"+AgentRelease, "-n", ns))
		} else if ctx.Err() != nil {
			err = e.stopped(ctx, "while the agent stored its credential")
		}
		fail(err)
		return
	}
	cl.Registration, cl.Cluster, cl.Status = reg.Name, reg.Status.ClusterName, StatusRegistered
	e.changed(cl, cl.Status, "as "+cl.Cluster)
}

// takeSlot takes cl's --parallel slot for its costly part. A cluster
// --max-failures keeps from starting ends NotStarted; one the run's end
// keeps from starting fails with when.
func (e *Enroller) takeSlot(ctx context.Context, cl *EnrolledCluster, start fanout.Start, fail func(error), when string) (func(), bool) {
	release, err := start(ctx)
	switch {
	case errors.Is(err, fanout.ErrStopped):
		cl.Status, cl.Error = StatusNotStarted, err.Error()
		e.changed(cl, cl.Status, cl.Error)
		return nil, false
	case err != nil:
		fail(e.stopped(ctx, when))
		return nil, false
	}
	return release, true
}

func (e *Enroller) changed(cl *EnrolledCluster, state, detail string) {
	if e.Changed != nil {
		e.Changed(cl, state, detail)
	}
}

// explainPendingRelease turns helm's "another operation is in progress",
// the mark of a release an interrupted helm left pending, into the way
// out: the same re-run would fail the same way.
func explainPendingRelease(err error, cl *EnrolledCluster, ns string) error {
	if !strings.Contains(err.Error(), "another operation (install/upgrade/rollback) is in progress") {
		return err
	}
	status := cl.helmHint("status", AgentRelease, "-n", ns)
	rollback := cl.helmHint("rollback", AgentRelease, "-n", ns)
	uninstall := cl.helmHint("uninstall", AgentRelease, "-n", ns)
	return fmt.Errorf("release %s/%s on context %s is stuck pending from an interrupted helm run, so helm refuses to change it: see %s; a pending-upgrade goes back with %s, a pending-install (never installed) goes with %s; then enroll again", ns, AgentRelease, cl.Context, status, rollback, uninstall)
}

// checkTokenAfterGrant: a grant for a token that is gone leaves the agent
// without its credential (§7.7), so the token must still exist.
func (e *Enroller) checkTokenAfterGrant(ctx context.Context, tok *Token, reg *Registration) error {
	_, err := e.m.Tokens.Get(ctx, tok.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		e.tokenGone.Store(true)
		return fmt.Errorf("registration %s was granted, but %s %q is gone (expired?), so the agent gets no credential: enroll again with a new token (no --reuse-token) and --reregister", reg.Name, Kind, tok.Name)
	}
	return apierror.Wrap(err, TokenOp("get", tok.Namespace, tok.Name))
}

// diagnose explains a cluster that did not register with the most likely
// cause and the command to look further. It makes a few short requests
// of its own, since the run's context is over.
func (e *Enroller) diagnose(runCtx context.Context, cl *EnrolledCluster, tok *Token, ns string) error {
	if !errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		return e.stopped(runCtx, "while waiting for the registration")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	what := fmt.Sprintf("not registered within --timeout %s", e.Timeout)
	_, err := e.m.Tokens.Get(ctx, tok.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || tok.Expired(Now()):
		e.tokenGone.Store(true)
		return fmt.Errorf("%s: %s %q expired or was deleted, so the agent's registration is refused: enroll again with a new token and a longer --ttl", what, Kind, tok.Name)
	case cl.last != nil:
		return fmt.Errorf("%s: registration %s waits for the Fleet controller to grant it (is it running?); look with %s", what, cl.last.Name, Hint(e.f, "get", tok.Name, "-n", tok.Namespace))
	}
	found, available := cl.agentAvailable(ctx, ns)
	switch {
	case !found:
		return fmt.Errorf("%s: the agent is not running (no Deployment %s/%s; does the chart deploy the agent?); look with %s", what, ns, AgentRelease, cl.downstreamHint("get", "all", "-n", ns))
	case !available:
		return fmt.Errorf("%s: the agent is not running (Deployment %s/%s has no available pod); look with %s", what, ns, AgentRelease, cl.downstreamHint("describe", "deployment", AgentRelease, "-n", ns))
	}
	return fmt.Errorf("%s: the agent runs but has not registered: most likely it cannot reach the Fleet manager's apiServerURL (or does not trust its CA); look with %s", what, cl.downstreamHint("logs", "deployment/"+AgentRelease, "-n", ns))
}

// stopped is the error of a cluster the run's end (--timeout, or a
// signal) stopped.
func (e *Enroller) stopped(ctx context.Context, when string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("--timeout %s ran out %s", e.Timeout, when)
	}
	return fmt.Errorf("interrupted %s", when)
}

// watchTokenGone ends the registration waits at once when the token is
// deleted (by hand, or by the controller at its expiry): from then on no
// agent can register with it, so waiting out --timeout would only delay
// the failure.
func (e *Enroller) watchTokenGone(ctx context.Context, tok *Token, regs *registrationWatch) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	lw := wait.Named(tok.Name,
		func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return e.m.Tokens.List(ctx, opts)
		},
		e.m.Tokens.Watch)
	go func() {
		_, err := wait.Until(ctx, lw, "", func(ev watch.Event) (bool, error) {
			u, ok := ev.Object.(*unstructured.Unstructured)
			return ok && ev.Type == watch.Deleted && u.GetUID() == tok.UID, nil
		})
		if err == nil {
			e.tokenGone.Store(true)
			regs.fail(fmt.Errorf("%s %q was deleted (expired, or by hand) before the agent registered, so its registration cannot be granted: enroll again with a new token (no --reuse-token)", Kind, tok.Name))
		}
	}()
	return cancel
}

// cleanUp deletes the token this run created once every cluster it was
// for holds its own credential: from then on it is only a credential able
// to register more clusters. A failed cluster keeps it for the re-run.
func (e *Enroller) cleanUp(res *Enrollment, tok *Token, wave []*EnrolledCluster) {
	if !res.Created || e.KeepToken {
		return
	}
	for _, cl := range wave {
		if cl.Status == StatusFailed || cl.Status == StatusInstalled || cl.Status == StatusNotStarted {
			return
		}
	}
	if err := e.m.DeleteFunc(tok.Name, string(tok.UID))(); err != nil && !apierrors.IsNotFound(err) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%s %q could not be deleted (%s): delete it with %s", Kind, tok.Name, apierror.OneLine(err.Error()), Hint(e.f, "delete", tok.Name, "-n", tok.Namespace)))
		return
	}
	res.TokenDeleted = true
	if len(res.Waves) > 0 {
		res.Waves[len(res.Waves)-1].TokenDeleted = true
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s %q was deleted: every cluster holds its own credential (pass --keep-token to keep it)", Kind, tok.Name))
}
