package rancherimport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/apierror"
	"github.com/kubectl-tokens/kubectl-tokens/pkg/fanout"
)

// The states of one cluster in the result.
const (
	StatusPending       = "Pending"
	StatusActive        = "Active"
	StatusAlreadyActive = "AlreadyActive"
	StatusApplied       = "Applied" // --wait=false
	StatusFailed        = "Failed"
	// StatusNotStarted is a cluster --max-failures kept from starting.
	StatusNotStarted = "NotStarted"
)

// Cluster is one cluster to import and, once run, what happened to it.
// It never holds the token or the import URL.
type Cluster struct {
	// Context is the downstream kubeconfig context ("" with manifest
	// only); Name the Rancher cluster's name.
	Context string `json:"context,omitempty"`
	Name    string `json:"name"`
	// ID is the management cluster ID (c-m-…), once known.
	ID      string `json:"clusterID"`
	Created bool   `json:"created"`
	// TokenSource says where the token was read (never the token).
	TokenSource string `json:"tokenSource,omitempty"`
	// TokenExpires is RFC3339 when the token rotates (2.15+).
	TokenExpires string `json:"tokenExpires,omitempty"`
	// Labels are the Rancher cluster's (--label, then the inventory's).
	Labels  map[string]string `json:"labels,omitempty"`
	Applied int               `json:"applied"`
	Status  string            `json:"status"`
	Error   string            `json:"error,omitempty"`

	// Downstream is where the manifest goes.
	Downstream Downstream `json:"-"`
	// Manifest is what was fetched, for --manifest-only.
	Manifest *Manifest `json:"-"`
}

// Fail records err as the cluster's failure.
func (c *Cluster) Fail(err error) {
	c.Status = StatusFailed
	c.Error = apierror.OneLine(err.Error())
}

// Importer runs the import of many clusters against one Rancher.
type Importer struct {
	Rancher *Rancher
	Server  Server
	Labels  map[string]string
	// Parallel bounds the clusters imported at once.
	Parallel int
	// MaxFailures stops starting clusters once more than it allows
	// failed.
	MaxFailures fanout.MaxFailures
	// ManifestOnly stops after the fetch: nothing is applied.
	ManifestOnly bool
	// Wait waits for Ready after the apply.
	Wait bool
	// Progress receives every cluster's state as it changes.
	Progress func(c *Cluster, state string)
	// AgentPresent reports whether the agent Deployment exists
	// downstream: an Active cluster with its agent is left alone.
	AgentPresent func(ctx context.Context, c *Cluster) (bool, error)
	// Hint renders a kubectl command on c's context for an error line,
	// with the user's kubeconfig (default: kubectl --context).
	Hint func(c *Cluster, words ...string) string

	client *http.Client
}

func (im *Importer) progress(c *Cluster, format string, args ...any) {
	if im.Progress != nil {
		im.Progress(c, fmt.Sprintf(format, args...))
	}
}

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// Run imports every pending cluster, at most Parallel at once; each ends
// Active, AlreadyActive, Applied or Failed. It returns an error only for
// what stops all of them (the HTTPS client).
func (im *Importer) Run(ctx context.Context, clusters []*Cluster) error {
	var err error
	if im.client, err = im.Server.Client(); err != nil {
		return err
	}
	pending := 0
	for _, c := range clusters {
		if c.Status == StatusPending {
			pending++
		}
	}
	pool := fanout.New(im.Parallel, im.MaxFailures.Limit(pending), im.MaxFailures.String())
	for _, c := range clusters {
		if c.Status != StatusPending {
			continue
		}
		pool.Go(func(start fanout.Start) {
			release, err := start(ctx)
			switch {
			case errors.Is(err, fanout.ErrStopped):
				c.Status, c.Error = StatusNotStarted, err.Error()
			case err != nil:
				c.Fail(im.timedOut(ctx, err, "before the import started"))
				pool.Fail()
			default:
				// The slot is held until the cluster's last state is
				// told, so one slot reports cluster after cluster.
				defer release()
				if err := im.one(ctx, c); err != nil {
					c.Fail(err)
					pool.Fail()
				}
			}
			im.progress(c, "%s", c.Status)
		})
	}
	pool.Wait()
	return nil
}

// one imports a cluster: create or reuse, management ID, token, manifest,
// apply, Ready.
func (im *Importer) one(ctx context.Context, c *Cluster) error {
	r := im.Rancher
	im.progress(c, "creating or reusing Rancher cluster %s", c.Name)
	labels := c.Labels
	if labels == nil {
		labels = im.Labels
	}
	created, err := r.EnsureCluster(ctx, c.Name, labels)
	if err != nil {
		return err
	}
	c.Created = created
	im.progress(c, "waiting for Rancher to give %s its cluster ID", c.Name)
	err = untilAllowed(ctx, func() (err error) {
		c.ID, err = r.WaitID(ctx, c.Name)
		return err
	})
	if err != nil {
		return im.timedOut(ctx, err, "before Rancher gave the cluster its ID (is Rancher running?)")
	}
	if !created && !im.ManifestOnly && im.AgentPresent != nil {
		var st ClusterState
		err := untilAllowed(ctx, func() (err error) {
			st, err = r.State(ctx, c.ID)
			return err
		})
		if err != nil {
			return err
		}
		if st.Active() {
			present, err := im.AgentPresent(ctx, c)
			if err != nil {
				return err
			}
			if present {
				c.Status = StatusAlreadyActive
				return nil
			}
		}
	}
	im.progress(c, "reading the import token of %s", c.ID)
	var tok *Token
	err = untilAllowed(ctx, func() (err error) {
		tok, err = r.ReadToken(ctx, c.ID)
		return err
	})
	if err != nil {
		return im.timedOut(ctx, err, "before Rancher created the import token "+c.ID+"/"+TokenName)
	}
	im.noteToken(c, tok)
	im.progress(c, "fetching the manifest from %s", im.Server.host())
	raw, err := im.Server.Fetch(ctx, im.client, tok)
	if errors.Is(err, ErrTokenRefused) {
		// Rotated between our read and the fetch, past the grace
		// period: the new token is in place, read it once more.
		if again, rerr := r.ReadToken(ctx, c.ID); rerr == nil && again.Reveal() != tok.Reveal() {
			im.noteToken(c, again)
			raw, err = im.Server.Fetch(ctx, im.client, again)
		}
	}
	if err != nil {
		return err
	}
	m, err := ParseManifest(raw)
	if err != nil {
		return err
	}
	c.Manifest = m
	if im.ManifestOnly {
		c.Status = StatusApplied
		return nil
	}
	im.progress(c, "applying %d objects", len(m.Objects))
	err = c.Downstream.Apply(ctx, m, func(done, _ int) { c.Applied = done })
	if err != nil {
		return err
	}
	if !im.Wait {
		c.Status = StatusApplied
		return nil
	}
	im.progress(c, "applied; waiting for the agent to connect")
	err = untilAllowed(ctx, func() error {
		return r.WaitReady(ctx, c.ID, func(s ClusterState) {
			if s.AgentDeployed.Status == "True" && !s.Active() {
				im.progress(c, "agent deployed; waiting for Rancher to mark %s Ready", c.ID)
			}
		})
	})
	if err != nil {
		if ctx.Err() != nil {
			return im.diagnose(c)
		}
		return err
	}
	c.Status = StatusActive
	return nil
}

func (im *Importer) noteToken(c *Cluster, t *Token) {
	c.TokenSource, c.TokenExpires = t.Source, ""
	if !t.ExpiresAt.IsZero() {
		c.TokenExpires = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
}

func (im *Importer) timedOut(ctx context.Context, err error, when string) error {
	if ctx.Err() == nil {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("--timeout ran out %s", when)
	}
	return fmt.Errorf("interrupted %s", when)
}

// diagnose explains a cluster that was not Ready in time, with a few
// short requests of its own (the run's context is over).
func (im *Importer) diagnose(c *Cluster) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := im.Rancher.State(ctx, c.ID)
	switch {
	case err != nil:
		return fmt.Errorf("not Ready within --timeout, and its state cannot be read: %w", err)
	case st.AgentDeployed.Status == "True":
		return fmt.Errorf("not Ready within --timeout: the agent connected but Rancher has not marked %s Ready (Ready=%s %s); look in Rancher's UI or at kubectl get clusters.management.cattle.io %s -o yaml", c.ID, orUnknown(st.Ready.Status), st.Ready.Reason, c.ID)
	}
	if im.AgentPresent != nil {
		if present, err := im.AgentPresent(ctx, c); err == nil && !present {
			return fmt.Errorf("not Ready within --timeout: Deployment %s/%s is gone from the downstream cluster; run the import again to re-apply it", AgentNamespace, AgentDeployment)
		}
	}
	return fmt.Errorf("not Ready within --timeout: the agent never connected to %s (its token refused, Rancher unreachable from the cluster, or the pod not running); look with %s", im.Server.host(), im.hint(c, "logs", "deployment/"+AgentDeployment, "-n", AgentNamespace))
}

func (im *Importer) hint(c *Cluster, words ...string) string {
	if im.Hint != nil {
		return im.Hint(c, words...)
	}
	return strings.Join(append([]string{"kubectl", "--context", c.Context}, words...), " ")
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// AgentDeploymentPresent is AgentPresent for a downstream dynamic client.
func AgentDeploymentPresent(ctx context.Context, c *Cluster) (bool, error) {
	_, err := c.Downstream.Dyn.Resource(deploymentsGVR).Namespace(AgentNamespace).Get(ctx, AgentDeployment, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, apierror.Wrap(err, apierror.Op{Verb: "get", Resource: deploymentsGVR.GroupResource(), Kind: "Deployment", Namespace: AgentNamespace, Name: AgentDeployment})
	}
	return true, nil
}
