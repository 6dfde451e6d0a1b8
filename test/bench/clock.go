package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/fleet"
)

// clock records when the bench's own watches first saw something: a
// token, its status.secretName, a Fleet Cluster, its agent's first
// check-in, a downstream agent Deployment or credential. The plugin
// watches the same objects, so both see an event at about the same
// moment.
type clock struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func newClock() *clock { return &clock{seen: map[string]time.Time{}} }

func (c *clock) mark(key string) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.seen[key]; !ok {
		c.seen[key] = now
	}
}

func (c *clock) at(key string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.seen[key]
	return t, ok
}

func (c *clock) forget(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.seen {
		if strings.HasPrefix(k, prefix) {
			delete(c.seen, k)
		}
	}
}

// latest is the last of the moments keys[i] (each must have been seen).
func (c *clock) latest(keys []string) (time.Time, string, bool) {
	var last time.Time
	for _, k := range keys {
		t, ok := c.at(k)
		if !ok {
			return time.Time{}, k, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last, "", true
}

// watchClock starts the clock's informers until ctx ends: upstream the
// tokens of tokenNS ("token/NAME", "values/NAME" once status.secretName
// is set) and the Fleet Clusters of every namespace ("cluster/NS/NAME",
// "checkin/NS/NAME" once status.agent.lastSeen is set); on every plane
// the agent's Deployment ("deploy/PLANE") and its credential Secret with
// a clusterName ("cred/PLANE") in agentNS.
func watchClock(ctx context.Context, c *clock, upstream *rest.Config, tokenNS string, kubes []kubernetes.Interface, planes []string, agentNS string) error {
	dyn, err := dynamic.NewForConfig(upstream)
	if err != nil {
		return err
	}
	tf := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, tokenNS, nil)
	tokens := tf.ForResource(fleet.TokenGVR).Informer()
	onToken := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		c.mark("token/" + u.GetName())
		if s, _, _ := unstructured.NestedString(u.Object, "status", "secretName"); s != "" {
			c.mark("values/" + u.GetName())
		}
	}
	cf := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0)
	clusters := cf.ForResource(fleet.ClusterGVR).Informer()
	onCluster := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		key := u.GetNamespace() + "/" + u.GetName()
		c.mark("cluster/" + key)
		if s, _, _ := unstructured.NestedString(u.Object, "status", "agent", "lastSeen"); s != "" {
			c.mark("checkin/" + key)
		}
	}
	synced := []cache.InformerSynced{tokens.HasSynced, clusters.HasSynced}
	for inf, on := range map[cache.SharedIndexInformer]func(any){tokens: onToken, clusters: onCluster} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, o any) { on(o) }}); err != nil {
			return err
		}
	}
	tf.Start(ctx.Done())
	cf.Start(ctx.Done())
	for i, kube := range kubes {
		f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(agentNS))
		secrets, deployments := f.Core().V1().Secrets().Informer(), f.Apps().V1().Deployments().Informer()
		name := planes[i]
		onSecret := func(obj any) {
			if s, ok := obj.(*corev1.Secret); ok && s.Name == fleet.AgentCredentialSecret && s.DeletionTimestamp == nil && len(s.Data["clusterName"]) > 0 {
				c.mark("cred/" + name)
			}
		}
		onDeployment := func(obj any) {
			if d, ok := obj.(*appsv1.Deployment); ok && d.Name == fleet.AgentRelease && d.DeletionTimestamp == nil {
				c.mark("deploy/" + name)
			}
		}
		for inf, on := range map[cache.SharedIndexInformer]func(any){secrets: onSecret, deployments: onDeployment} {
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: on, UpdateFunc: func(_, o any) { on(o) }}); err != nil {
				return err
			}
			synced = append(synced, inf.HasSynced)
		}
		f.Start(ctx.Done())
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return errors.New("the bench clock's informers did not sync")
	}
	return nil
}

// clockSplit is splitEnroll from a clock and a helmclock log.
func clockSplit(c *clock, hc *helmClock, token string, contexts []string, r *result) (enrollSplit, error) {
	var s enrollSplit
	tok, ok1 := c.at("token/" + token)
	values, ok2 := c.at("values/" + token)
	if !ok1 || !ok2 {
		return s, fmt.Errorf("the clock saw no token %s or no values of it", token)
	}
	runs, err := hc.take()
	if err != nil {
		return s, err
	}
	if len(runs) != len(contexts) {
		return s, fmt.Errorf("%d helm runs recorded, want %d", len(runs), len(contexts))
	}
	first, last := helmSpan(runs)
	keys := make([]string, len(contexts))
	for i, ctx := range contexts {
		keys[i] = "cred/" + ctx
	}
	cred, missing, ok := c.latest(keys)
	if !ok {
		return s, fmt.Errorf("the clock saw no credential (%s)", missing)
	}
	return splitEnroll(r.Start, r.End, tok, values, first, last, cred), nil
}
