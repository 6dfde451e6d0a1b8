//go:build e2e

package wait_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-tokens/kubectl-tokens/pkg/wait"
	"github.com/kubectl-tokens/kubectl-tokens/test/testenv"
)

var env *testenv.Env

// The apiserver ends every watch after 2–4 s here, so waits longer than
// that must resume.
func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{APIServerArgs: map[string][]string{
		"min-request-timeout": {"2"},
		// Watches go to etcd, compacted every second, so that an old
		// resourceVersion answers 410 Gone (the watch cache would serve it).
		"etcd-compaction-interval": {"1s"},
		"watch-cache":              {"false"},
	}}, func(e *testenv.Env) error { env = e; return nil })
}

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func setup(t *testing.T, name string) (dynamic.ResourceInterface, *corev1.ConfigMap) {
	t.Helper()
	cs := env.Clientset()
	cm, err := cs.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dynamic.NewForConfigOrDie(env.Config).Resource(configMaps).Namespace("default"), cm
}

func hasKey(key string) wait.Condition {
	return func(ev watch.Event) (bool, error) {
		if ev.Type != watch.Added && ev.Type != watch.Modified {
			return false, nil
		}
		u, err := wait.Object(ev)
		if err != nil {
			return false, err
		}
		data, _ := u.Object["data"].(map[string]any)
		_, ok := data[key]
		return ok, nil
	}
}

func setKeyAfter(t *testing.T, name, key string, d time.Duration) {
	t.Helper()
	go func() {
		time.Sleep(d)
		cs := env.Clientset()
		patch := fmt.Appendf(nil, `{"data":{%q:"yes"}}`, key)
		if _, err := cs.CoreV1().ConfigMaps("default").Patch(context.Background(), name, "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
			t.Error(err)
		}
	}()
}

func TestUntilOutlivesClosedWatches(t *testing.T) {
	ri, cm := setup(t, "outlives")
	// Another object changes meanwhile: the name filter must hide it.
	_, _ = setup(t, "noise")
	setKeyAfter(t, "outlives", "ready", 7*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := wait.Until(ctx, wait.ByName(ri, "outlives"), cm.ResourceVersion, hasKey("ready"))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := wait.Object(*ev)
	if u.GetName() != "outlives" {
		t.Errorf("got %s", u.GetName())
	}
}

func TestUntilRelistsAfterGone(t *testing.T) {
	ri, _ := setup(t, "gone")
	time.Sleep(3 * time.Second) // let a compaction pass
	setKeyAfter(t, "gone", "ready", time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// resourceVersion 1 is long compacted away from the watch cache: the
	// server answers 410 Gone and Until must list again.
	var sawList bool
	_, err := wait.Until(ctx, wait.ByName(ri, "gone"), "1", func(ev watch.Event) (bool, error) {
		if ev.Type == wait.Listed {
			sawList = true
		}
		return hasKey("ready")(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sawList {
		t.Error("the wait never listed again after 410 Gone")
	}
}

func TestUntilSeesDeletion(t *testing.T) {
	ri, cm := setup(t, "deleted")
	go func() {
		time.Sleep(500 * time.Millisecond)
		_ = env.Clientset().CoreV1().ConfigMaps("default").Delete(context.Background(), "deleted", metav1.DeleteOptions{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := wait.Until(ctx, wait.ByName(ri, "deleted"), cm.ResourceVersion, func(ev watch.Event) (bool, error) {
		return ev.Type == watch.Deleted, nil
	})
	if err != nil || ev.Type != watch.Deleted {
		t.Fatalf("want a Deleted event, got %v, %v", ev, err)
	}
}

func TestUntilHonoursDeadline(t *testing.T) {
	ri, cm := setup(t, "never")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := wait.Until(ctx, wait.ByName(ri, "never"), cm.ResourceVersion, hasKey("ready"))
	if !wait.IsTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
}

func TestUntilHonoursCancel(t *testing.T) {
	ri, cm := setup(t, "cancelled")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := wait.Until(ctx, wait.ByName(ri, "cancelled"), cm.ResourceVersion, hasKey("ready"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
