package regtoken

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/cli"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/deleter"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/dryrun"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/printer"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/progress"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/shellquote"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/ttl"
)

const (
	enrollPrefix       = "enroll-"
	defaultParallel    = 8
	defaultEnrollLimit = 10 * time.Minute
)

// EnrollOptions is `kubectl regtoken enroll`. Token creation, the wait for
// its values and the helm argv are create's (o.create); enroll adds the
// downstream side.
type EnrollOptions struct {
	genericiooptions.IOStreams
	f      cli.Clients
	create CreateOptions
	print  *printer.Flags

	Contexts         []string
	TokenName        string
	ReuseToken       string
	ClientIDs        []string
	Helm             string
	Chart            string
	RepoURL          string
	Reregister       bool
	WaitRegistration bool
	Timeout          time.Duration
	Parallel         int

	// Resolved by Complete.
	kubeconfig string
	clusters   []*EnrolledCluster
	helmPath   string
	chart      chartRef
}

// NewCmdEnroll builds `kubectl regtoken enroll`.
func NewCmdEnroll(f cli.Clients, streams genericiooptions.IOStreams) *cobra.Command {
	o := &EnrollOptions{IOStreams: streams, f: f, print: printer.NewFlags(printer.WithTable)}
	o.create = CreateOptions{IOStreams: streams, f: f, install: installFlags{mode: writeValues, ValuesFile: "-"}}
	cmd := &cobra.Command{
		Use:   "enroll CONTEXT... [-n NAMESPACE] [--token-name NAME | --reuse-token NAME] [--ttl DURATION] [--label KEY=VALUE]... [--client-id [CONTEXT=]ID]... [flags]",
		Short: "Register downstream clusters with Fleet: token, helm install of the agent, wait until registered",
		Long: cli.LongDesc(`
			Register the clusters of kubeconfig contexts with the Fleet manager of
			the current context (or --context), end to end.

			enroll creates a ClusterRegistrationToken (--token-name, else a name
			starting with enroll-) or uses an existing one (--reuse-token), waits
			for its values as create does, and installs the fleet-agent into every
			downstream CONTEXT by running helm with the argv create prints, plus
			--kube-context CONTEXT (and --kubeconfig when given): helm upgrade
			--install, without --wait, the values on helm's stdin (nothing is
			written to disk). It then waits, by watch, until the Fleet controller
			has granted each cluster's registration and the agent has stored its
			credential, and prints a table CONTEXT, CLIENT-ID, CLUSTER, STATUS
			(-o json|yaml: one result object).

			A cluster whose agent is registered already (its credential Secret
			fleet-agent exists) is reported and left alone: a new token does not
			make a healthy agent register again. --reregister deletes that Secret
			and restarts the agent after installing the new values, and waits for
			the new registration.

			The client ID of a Fleet Cluster is --client-id (with several
			contexts: --client-id CONTEXT=ID for each), else the UID of the
			cluster's kube-system namespace, as the agent takes it. Two contexts
			with one client ID would become one Fleet Cluster and are refused.

			--chart is fleet/fleet-agent (added with helm repo add from --repo-url,
			its index refreshed with helm repo update fleet), a local chart
			directory or .tgz, or an oci:// reference.
			--chart-version defaults to the Fleet controller's version, read from
			the image tag of its Deployment, so agent and controller match.

			Checked before anything is created: the contexts (known, not the
			management cluster, reachable, distinct clusters), the helm binary, the
			client IDs, and, for a token without --ttl, whether the controller
			requires a TTL. --timeout bounds the whole run; a cluster that did not
			register in time is reported with the most likely cause. The exit code
			is 0 only when every cluster registered (or, with
			--wait-registration=false, was installed).`),
		Example: templates.Examples(`
			# Register two clusters with the Fleet manager of the current context
			kubectl regtoken enroll edge-1 edge-2 -n fleet-default --ttl 1h --label env=prod

			# Name the Fleet Clusters' client IDs, and read the result as JSON
			kubectl regtoken enroll edge-1 edge-2 --ttl 1h --client-id edge-1=store-17 --client-id edge-2=store-18 -o json

			# An air-gapped install from a chart archive, returning once helm is done
			kubectl regtoken enroll edge-1 --ttl 1h --chart ./fleet-agent-0.16.1.tgz --wait-registration=false

			# Show every helm command without running anything
			kubectl regtoken enroll edge-1 edge-2 --ttl 1h --dry-run=client`),
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeContexts(f),
		RunE:              cli.RunE(o),
	}
	fs := cmd.Flags()
	fs.StringVar(&o.TokenName, "token-name", "", "Name of the token to create (default: generated, starting with enroll-).")
	fs.StringVar(&o.ReuseToken, "reuse-token", "", "Use this existing token instead of creating one (an expired one is refused).")
	fs.StringVar(&o.create.TTL, "ttl", ttl.Never, "Time to live of the created token: Go durations plus d and w, or never; 0 also means never.")
	fs.StringArrayVar(&o.create.install.Labels, "label", nil, "Label KEY=VALUE for the Fleet Clusters, passed to helm as --set-string labels.KEY=VALUE (repeatable).")
	fs.StringArrayVar(&o.ClientIDs, "client-id", nil, "spec.clientID of the Fleet Cluster: ID with one context, CONTEXT=ID per context with several (repeatable); default: the cluster's kube-system UID.")
	fs.StringVar(&o.create.install.APIServerURL, "api-server-url", "", "URL of the Fleet manager's API server for the agents; default: the token's values, else the kubeconfig's server.")
	fs.StringVar(&o.create.install.APIServerCAFile, "api-server-ca-file", "", "PEM file of that API server's CA; default: the token's values, else the kubeconfig's CA.")
	fs.StringVar(&o.Helm, "helm", "", "The helm binary to run (default: helm on PATH).")
	fs.StringVar(&o.Chart, "chart", agentChart, "The fleet-agent chart: fleet/fleet-agent, a local directory or .tgz, or an oci:// reference.")
	fs.StringVar(&o.create.install.ChartVersion, "chart-version", "", "Chart version for helm --version (default: the Fleet controller's version, from its image tag).")
	fs.StringVar(&o.RepoURL, "repo-url", helmRepoURL, "URL of the fleet helm repository, for helm repo add (with --chart fleet/...).")
	fs.BoolVar(&o.Reregister, "reregister", false, "Make registered agents register again with the new token: delete their credential Secret and restart them.")
	fs.BoolVar(&o.WaitRegistration, "wait-registration", true, "Wait until every cluster is registered; false returns once helm has installed the agents.")
	fs.DurationVar(&o.Timeout, "timeout", defaultEnrollLimit, "How long the whole run may take (values, installs, registrations).")
	fs.IntVar(&o.Parallel, "parallel", defaultParallel, "How many helm installs run at once.")
	dryrun.AddClientFlag(cmd, &o.create.DryRun, "run (the helm commands)")
	_ = cmd.MarkFlagFilename("api-server-ca-file", "pem", "crt")
	_ = cmd.MarkFlagFilename("helm")
	o.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: json or yaml print one result object (token, and per context the helm argv, release, client ID, Fleet Cluster, status, error) and nothing else on stdout."
	return cmd
}

// Complete resolves the token, the downstream contexts and the clients.
func (o *EnrollOptions) Complete(_ *cobra.Command, args []string) error {
	o.Contexts = args
	c := &o.create
	switch {
	case o.ReuseToken != "":
		c.Name, c.Reuse = o.ReuseToken, true
	case o.TokenName != "":
		c.Name = o.TokenName
	default:
		c.GenerateName = enrollPrefix
	}
	c.Timeout = o.Timeout
	if err := c.Complete(nil, nil); err != nil {
		return err
	}
	if k := o.f.Flags().KubeConfig; k != nil {
		o.kubeconfig = *k
	}
	if c.DryRun == dryrun.None {
		var err error
		if o.helmPath, err = helmBinary(o.Helm); err != nil {
			return err
		}
	}
	o.chart = parseChart(o.Chart)
	return nil
}

// Validate checks every input before any request: the flags, the
// contexts and the client IDs.
func (o *EnrollOptions) Validate() error {
	c := &o.create
	switch {
	case o.TokenName != "" && o.ReuseToken != "":
		return errors.New("--token-name and --reuse-token both given: pass one (a new token's name, or an existing token)")
	case o.ReuseToken != "" && c.TTL != ttl.Never:
		return errors.New("--ttl applies to a new token; --reuse-token keeps the token's own ttl: leave out one of them")
	case o.Timeout <= 0:
		return fmt.Errorf("--timeout %s is not positive: pass e.g. --timeout 10m", o.Timeout)
	case o.Parallel < 1:
		return fmt.Errorf("--parallel %d is less than 1: pass how many helm installs may run at once, e.g. --parallel 8", o.Parallel)
	}
	if o.TokenName != "" {
		if err := validateName(o.TokenName); err != nil {
			return err
		}
	}
	if o.ReuseToken != "" {
		if err := validateName(o.ReuseToken); err != nil {
			return err
		}
	}
	if err := dryrun.ValidateClient(c.DryRun, "helm and the registration have no server dry run"); err != nil {
		return err
	}
	if err := validateResultOutput(o.print); err != nil {
		return err
	}
	if err := c.install.validate(); err != nil {
		return err
	}
	if err := o.chart.validate(c.install.ChartVersion, o.RepoURL); err != nil {
		return err
	}
	return o.resolveContexts()
}

// resolveContexts checks the downstream contexts against the kubeconfig
// and assigns the client IDs; it reads no cluster.
func (o *EnrollOptions) resolveContexts() error {
	multi, ok := o.f.(cli.Contexts)
	if !ok {
		return errors.New("enroll needs a kubeconfig with the downstream contexts")
	}
	names, current, err := multi.KubeconfigContexts()
	if err != nil {
		return err
	}
	mgmt, err := o.f.CurrentCluster()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	o.clusters = nil
	for _, name := range o.Contexts {
		switch {
		case seen[name]:
			return fmt.Errorf("context %q is given twice: name each downstream context once", name)
		case !containsString(names, name):
			return fmt.Errorf("context %q is not in the kubeconfig: list the contexts with kubectl config get-contexts; nothing was created", name)
		case name == current:
			return fmt.Errorf("context %q is the Fleet management cluster (the current context): name downstream contexts, or pass --context with the management cluster's; nothing was created", name)
		}
		seen[name] = true
		cl := &EnrolledCluster{Context: name, Status: statusPending, Release: agentNamespace + "/" + agentRelease}
		if err := cl.connect(o.f); err != nil {
			return err
		}
		if dc, err := cl.clients.CurrentCluster(); err == nil && dc.Server != "" && dc.Server == mgmt.Server {
			return fmt.Errorf("context %q reaches the Fleet management cluster itself (server %s, as the current context): name downstream contexts; nothing was created", name, dc.Server)
		}
		o.clusters = append(o.clusters, cl)
	}
	return o.assignClientIDs()
}

// assignClientIDs applies --client-id: ID with one context, CONTEXT=ID
// with several.
func (o *EnrollOptions) assignClientIDs() error {
	byContext := map[string]*EnrolledCluster{}
	for _, cl := range o.clusters {
		byContext[cl.Context] = cl
	}
	for _, v := range o.ClientIDs {
		ctxName, id, ok := strings.Cut(v, "=")
		cl := byContext[ctxName]
		switch {
		case ok && cl != nil:
		case len(o.clusters) == 1:
			cl, id = o.clusters[0], v
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
		if err := checkClientID(id); err != nil {
			return err
		}
		cl.ClientID, cl.configured = id, true
	}
	owner := map[string]string{}
	for _, cl := range o.clusters {
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

// Run enrolls: checks, token, installs, registrations, result.
func (o *EnrollOptions) Run(ctx context.Context) error {
	if o.create.DryRun == dryrun.Client {
		return o.printDryRun()
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	started := time.Now()
	res := &Enrollment{HelmRepoAdd: []string{}, HelmRepoUpdate: []string{}, Warnings: []string{}, Notes: []string{}, Clusters: o.clusters}
	res.SetGroupVersionKind(enrollGVK)

	// Everything that can refuse the run comes before the token.
	facts := readController(ctx, o.create.dyn)
	if err := o.checkTTLRequirement(facts, res); err != nil {
		return err
	}
	o.chooseChartVersion(facts, res)
	if err := o.preflight(ctx); err != nil {
		return err
	}
	pending := 0
	for _, cl := range o.clusters {
		if cl.Status == statusPending {
			pending++
		}
	}
	if pending == 0 {
		res.Notes = append(res.Notes, "no token was created: no cluster is left to install")
		printNotes(o.IOStreams, &Result{Notes: res.Notes, Warnings: res.Warnings})
		return o.finish(res, nil)
	}

	if o.chart.repo == helmRepoName {
		res.HelmRepoAdd, res.HelmRepoUpdate = repoAddArgv(o.RepoURL), repoUpdateArgv()
		for _, argv := range [][]string{res.HelmRepoAdd, res.HelmRepoUpdate} {
			if err := runHelm(ctx, o.helmPath, argv, nil); err != nil {
				return fmt.Errorf("%w; fix the repository (helm repo list) or pass --chart with a local chart; nothing was created", err)
			}
		}
	}
	tok, secret, fail, err := o.obtainToken(ctx, res)
	if err != nil {
		return err
	}
	values, err := o.create.install.finish(o.f, tok, secret, now())
	if err != nil {
		return fail(err)
	}
	res.Warnings = append(res.Warnings, values.Warnings...)
	res.Notes = append(res.Notes, values.Notes...)
	printNotes(o.IOStreams, &Result{Notes: res.Notes, Warnings: res.Warnings})
	verb := "exists and is reused"
	if res.Created {
		verb = "created"
	}
	fmt.Fprintf(o.ErrOut, "%s/%s %s in namespace %s (%s); its values are ready\n", objectRef, tok.Name, verb, tok.Namespace, describeExpiry(tok))

	var watch *registrationWatch
	if o.WaitRegistration {
		if watch, err = startRegistrationWatch(ctx, o.create.dyn, tok.Namespace, tok.Name, o.Reregister); err != nil {
			return fail(err)
		}
	}
	o.enrollAll(ctx, tok, values, watch, started)
	return o.finish(res, tok)
}

// obtainToken creates the token (create's code) or reads the one
// --reuse-token names, and waits for its values as create does. fail
// reports an error after that with what exists.
func (o *EnrollOptions) obtainToken(ctx context.Context, res *Enrollment) (*Token, *corev1.Secret, func(error) error, error) {
	c := &o.create
	var created bool
	var tok *Token
	var got *unstructured.Unstructured
	var err error
	if o.ReuseToken != "" {
		got, err = c.tokens.Get(ctx, o.ReuseToken, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && !apierror.IsNotServedError(err) {
			return nil, nil, nil, apierror.Explained(err, "%s %q not found in namespace %q: create one (drop --reuse-token, or pass --token-name) or list them with %s", kind, o.ReuseToken, c.namespace, hint(o.f, "list", "-n", c.namespace))
		}
		if err != nil {
			return nil, nil, nil, apierror.Wrap(err, tokenOp("get", c.namespace, o.ReuseToken))
		}
		if tok, err = toToken(got); err != nil {
			return nil, nil, nil, err
		}
		if err := refuseExpired(o.f, tok, now()); err != nil {
			return nil, nil, nil, err
		}
	} else {
		if err := c.checkAccess(ctx); err != nil {
			return nil, nil, nil, err
		}
		if got, created, err = c.createToken(ctx, c.newToken()); err != nil {
			return nil, nil, nil, err
		}
		if tok, err = toToken(got); err != nil {
			return nil, nil, nil, err
		}
	}
	res.Token, res.Namespace, res.Created = tok.Name, tok.Namespace, created
	if at, ok := tok.ExpiresAt(); ok {
		res.Expires = at.UTC().Format(time.RFC3339)
	}
	if created && c.ttlNote != "" {
		res.Notes = append(res.Notes, c.ttlNote)
	}
	fail := c.afterWrite(created, tok)
	tok, secret, err := c.waitValues(ctx, got, tok, created)
	if err != nil {
		return nil, nil, nil, fail(err)
	}
	return tok, secret, fail, nil
}

// checkTTLRequirement refuses a TTL-less new token on a controller that
// deletes such tokens at once, and says when that cannot be known.
func (o *EnrollOptions) checkTTLRequirement(facts controllerFacts, res *Enrollment) error {
	if o.ReuseToken != "" || o.create.ttl != "" {
		return nil
	}
	switch {
	case facts.ttlRequired:
		return fmt.Errorf("the Fleet controller requires a TTL (%s=true on Deployment %s/%s) and deletes a token without one at once: pass --ttl, e.g. --ttl 1h; nothing was created", ttlRequiredEnv, controllerNamespace, controllerDeployment)
	case !facts.known:
		res.Warnings = append(res.Warnings, fmt.Sprintf("whether the Fleet controller requires a TTL is unknown (%s): if it does, it deletes this token at once; pass --ttl to be safe", facts.readErr))
	}
	return nil
}

// chooseChartVersion defaults --chart-version to the controller's
// version for repository and oci:// charts (a local chart has its own).
func (o *EnrollOptions) chooseChartVersion(facts controllerFacts, res *Enrollment) {
	in := &o.create.install
	if in.ChartVersion != "" || o.chart.local {
		return
	}
	if facts.version == "" {
		res.Notes = append(res.Notes, facts.unknownVersionNote())
		return
	}
	in.ChartVersion = facts.version
	res.Notes = append(res.Notes, fmt.Sprintf("fleet-agent chart version %s, the Fleet controller's (image %s)", facts.version, facts.image))
}

// preflight reads every downstream cluster before the token exists. Two
// contexts of one cluster, or one of the management cluster, refuse the
// run; a cluster that cannot be read fails alone.
func (o *EnrollOptions) preflight(ctx context.Context) error {
	mgmtUID := ""
	if core, err := o.f.CoreV1(); err == nil {
		// Best effort: without the permission, the server comparison of
		// Validate is what we have.
		mgmtUID, _ = kubeSystemUID(ctx, core)
	}
	uids := make([]string, len(o.clusters))
	forEach(o.clusters, o.Parallel, func(i int, cl *EnrolledCluster) {
		uid, err := cl.preflight(ctx, agentNamespace, o.Reregister)
		if err != nil {
			cl.fail(err)
			return
		}
		uids[i] = uid
	})
	owner := map[string]string{}
	for i, cl := range o.clusters {
		switch uid := uids[i]; {
		case uid == "":
		case uid == mgmtUID:
			return fmt.Errorf("context %q reaches the Fleet management cluster itself (kube-system UID %s): name downstream contexts; nothing was created", cl.Context, uid)
		case owner[uid] != "":
			return fmt.Errorf("contexts %q and %q reach the same cluster (kube-system UID %s): name each cluster once; nothing was created", owner[uid], cl.Context, uid)
		default:
			owner[uid] = cl.Context
		}
	}
	return nil
}

// enrollAll installs the agent into every pending cluster (at most
// --parallel helm runs at once) and waits for each registration.
func (o *EnrollOptions) enrollAll(ctx context.Context, tok *Token, values *Result, watch *registrationWatch, started time.Time) {
	prog := newEnrollProgress(o.ErrOut, progress.IsTerminal(o.ErrOut), time.Now, o.clusters, started, time.Second)
	defer prog.stop()
	sem := make(chan struct{}, o.Parallel)
	forEach(o.clusters, len(o.clusters), func(_ int, cl *EnrolledCluster) {
		if cl.Status != statusPending {
			prog.set(cl, cl.Status, cl.Error)
			return
		}
		h := values.install
		h.Upgrade, h.KubeContext, h.Kubeconfig = true, cl.Context, o.kubeconfig
		h.Chart = o.Chart
		if cl.configured {
			h.ClientID = cl.ClientID
		}
		cl.Helm = h.Argv()
		ns := h.Namespace
		if ns == "" {
			ns = agentNamespace
		}
		cl.Release = ns + "/" + agentRelease
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			cl.fail(o.timedOut(ctx.Err(), "before helm ran"))
			prog.set(cl, cl.Status, cl.Error)
			return
		}
		prog.set(cl, "installing", "")
		cl.started = time.Now()
		err := runHelm(ctx, o.helmPath, cl.Helm, values.stdoutValues)
		if err == nil && o.Reregister {
			err = cl.reregister(ctx, ns, now())
		}
		<-sem
		if err != nil {
			cl.fail(err)
			prog.set(cl, cl.Status, cl.Error)
			return
		}
		if watch == nil {
			cl.Status = statusInstalled
			prog.set(cl, cl.Status, "")
			return
		}
		prog.set(cl, "waiting for the agent to register", "")
		reg, err := watch.waitGranted(ctx, cl.ClientID, func(r *Registration) {
			shown := cl.last != nil && cl.last.Name == r.Name
			cl.last = r
			if !r.done() && !shown {
				prog.set(cl, "registration "+r.Name+" waits for the Fleet controller", "")
			}
		})
		if err == nil {
			err = o.checkTokenAfterGrant(ctx, tok, reg)
		}
		if err != nil {
			if ctx.Err() != nil {
				err = o.diagnose(cl, tok, ns)
			}
			cl.fail(err)
			prog.set(cl, cl.Status, cl.Error)
			return
		}
		prog.set(cl, "granted as "+reg.Status.ClusterName+"; waiting for the agent to store its credential", "")
		if err := cl.awaitCredential(ctx, ns, reg.Status.ClusterName); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("registration %s was granted as %s, but the agent did not store its credential (Secret %s/%s) within --timeout %s: most often the token was gone at the grant or the agent cannot read its credential upstream; look with %s",
					reg.Name, reg.Status.ClusterName, ns, agentCredentialSecret, o.Timeout, cl.downstreamHint("logs", "deployment/"+agentRelease, "-n", ns))
			}
			cl.fail(err)
			prog.set(cl, cl.Status, cl.Error)
			return
		}
		cl.Registration, cl.Cluster, cl.Status = reg.Name, reg.Status.ClusterName, statusRegistered
		prog.set(cl, cl.Status, "as "+cl.Cluster)
	})
}

// checkTokenAfterGrant: a grant for a token that is gone leaves the agent
// without its credential (§7.7), so the token must still exist.
func (o *EnrollOptions) checkTokenAfterGrant(ctx context.Context, tok *Token, reg *Registration) error {
	_, err := o.create.tokens.Get(ctx, tok.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("registration %s was granted, but %s %q is gone (expired?), so the agent gets no credential: enroll again with a new token and --reregister", reg.Name, kind, tok.Name)
	}
	return apierror.Wrap(err, tokenOp("get", tok.Namespace, tok.Name))
}

// diagnose explains a cluster that did not register within --timeout with
// the most likely cause and the command to look further. It makes a few
// short requests of its own, since the run's context is over.
func (o *EnrollOptions) diagnose(cl *EnrolledCluster, tok *Token, ns string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	what := fmt.Sprintf("not registered within --timeout %s", o.Timeout)
	_, err := o.create.tokens.Get(ctx, tok.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) || tok.Expired(now()):
		return fmt.Errorf("%s: %s %q expired or was deleted, so the agent's registration is refused: enroll again with a longer --ttl", what, kind, tok.Name)
	case cl.last != nil:
		return fmt.Errorf("%s: registration %s waits for the Fleet controller to grant it (is it running?); look with %s", what, cl.last.Name, hint(o.f, "get", tok.Name, "-n", tok.Namespace))
	}
	found, available := cl.agentAvailable(ctx, ns)
	switch {
	case !found:
		return fmt.Errorf("%s: the agent is not running (no Deployment %s/%s; does the chart deploy the agent?); look with %s", what, ns, agentRelease, cl.downstreamHint("get", "all", "-n", ns))
	case !available:
		return fmt.Errorf("%s: the agent is not running (Deployment %s/%s has no available pod); look with %s", what, ns, agentRelease, cl.downstreamHint("describe", "deployment", agentRelease, "-n", ns))
	}
	return fmt.Errorf("%s: the agent runs but has not registered: most likely it cannot reach the Fleet manager's apiServerURL (or does not trust its CA); look with %s", what, cl.downstreamHint("logs", "deployment/"+agentRelease, "-n", ns))
}

// timedOut is the error of a cluster the run's end stopped before
// anything happened on it.
func (o *EnrollOptions) timedOut(err error, when string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("--timeout %s ran out %s", o.Timeout, when)
	}
	return fmt.Errorf("interrupted %s", when)
}

// finish prints the result and turns failures into the one error line.
func (o *EnrollOptions) finish(res *Enrollment, tok *Token) error {
	if o.print.Output() != "" {
		if err := o.print.Print(res, printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
	} else {
		if err := o.print.Print(enrollTable(res.Clusters), printer.WithoutNamespace, o.Out); err != nil {
			return err
		}
	}
	var r deleter.Result
	for _, cl := range res.Clusters {
		switch cl.Status {
		case statusFailed:
			r.Failed = append(r.Failed, deleter.Failure{Target: deleter.Target{Name: cl.Context}, Err: errors.New(cl.Error)})
		default:
			r.Done++
		}
	}
	verb := "registered"
	if !o.WaitRegistration {
		verb = "installed"
	}
	err := r.Err(verb, len(res.Clusters))
	if err == nil || tok == nil {
		return err
	}
	return fmt.Errorf("%w; %s %q stays in namespace %q for a re-run (%s), or delete it with %s", err, kind, tok.Name, tok.Namespace,
		hint(o.f, append([]string{"enroll"}, append(failedContexts(res), "-n", tok.Namespace, "--reuse-token", tok.Name)...)...), hint(o.f, "delete", tok.Name, "-n", tok.Namespace))
}

func failedContexts(res *Enrollment) []string {
	var out []string
	for _, cl := range res.Clusters {
		if cl.Status == statusFailed {
			out = append(out, cl.Context)
		}
	}
	return out
}

// printDryRun prints what enroll would run, sending nothing.
func (o *EnrollOptions) printDryRun() error {
	c := &o.create
	name := o.ReuseToken
	if name == "" {
		obj := c.newToken()
		name = obj.GetName()
		if name == "" {
			name = obj.GetGenerateName() + "<generated>"
		}
		fmt.Fprintf(o.Out, "%s/%s created in namespace %s%s\n", objectRef, name, c.namespace, dryrun.Suffix(c.DryRun))
	}
	if o.chart.repo == helmRepoName {
		fmt.Fprintln(o.Out, shellquote.Join(repoAddArgv(o.RepoURL)))
		fmt.Fprintln(o.Out, shellquote.Join(repoUpdateArgv()))
	}
	h := HelmInstall{Labels: c.install.labels, ValuesFile: "-", ChartVersion: c.install.ChartVersion, Chart: o.Chart, Upgrade: true, Kubeconfig: o.kubeconfig, APIServerURL: c.install.APIServerURL, APIServerCAFile: c.install.APIServerCAFile}
	for _, cl := range o.clusters {
		h.KubeContext, h.ClientID = cl.Context, ""
		if cl.configured {
			h.ClientID = cl.ClientID
		}
		fmt.Fprintln(o.Out, shellquote.Join(h.Argv()))
		if o.Reregister {
			fmt.Fprintln(o.Out, cl.downstreamHint("delete", "secret", agentCredentialSecret, "-n", agentNamespace, "--ignore-not-found"))
			fmt.Fprintln(o.Out, cl.downstreamHint("rollout", "restart", "deployment/"+agentRelease, "-n", agentNamespace))
		}
	}
	fmt.Fprintf(o.ErrOut, "note: nothing was run%s; helm reads the token's values on stdin (%s)", dryrun.Suffix(c.DryRun), hint(o.f, "values", name, "-n", c.namespace, "--values-file", "-"))
	fmt.Fprintln(o.ErrOut)
	if c.install.ChartVersion == "" && !o.chart.local {
		fmt.Fprintln(o.ErrOut, "note: without --chart-version, enroll passes the Fleet controller's version (read from its Deployment, which a dry run does not read)")
	}
	return nil
}

// forEach runs fn on every cluster, at most n at once, and returns when
// all are done.
func forEach(clusters []*EnrolledCluster, n int, fn func(int, *EnrolledCluster)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for i, cl := range clusters {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i, cl)
		}()
	}
	wg.Wait()
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// completeContexts completes the kubeconfig's contexts other than the
// current one.
func completeContexts(f cli.Clients) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		multi, ok := f.(cli.Contexts)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, current, err := multi.KubeconfigContexts()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, n := range names {
			if n != current && !containsString(args, n) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
