// Command oci-image builds the release's container image without a Docker
// daemon and pushes it: the three plugins and the pinned helm on an empty
// (scratch) base, one image per platform under one OCI image index.
//
//	oci-image build -out DIR -version V -created RFC3339 -source URL PLATFORM=BINDIR...
//	oci-image push -layout DIR REF...
//	oci-image registry -addr-file FILE
//
// build writes an OCI image layout (index.json, oci-layout, blobs/) whose
// index holds one manifest per PLATFORM (os/arch, e.g. linux/arm64), each
// built from BINDIR: kubectl-regtoken, kubectl-exttoken, kubectl-bootstrap
// and helm, installed in /usr/local/bin. The filesystem also holds the
// Mozilla/NSS root certificates (from golang.org/x/crypto/x509roots/fallback,
// pinned by go.sum, so the image needs no base image to pull), an
// /etc/passwd naming the non-root user 65532 the image runs as, its home
// and a /tmp. Every timestamp is -created, so a rebuild of the same
// binaries gives the same digests.
//
// push copies the layout's index with every platform to each REF
// (registry/repository:tag), with the credentials of the docker config
// (docker/login-action writes them in CI).
//
// registry serves an empty in-memory registry (go-containerregistry's) on
// a free loopback port, writes its host:port to FILE and runs until it is
// signalled: hack/release-snapshot.sh pushes the snapshot's image there to
// sign and verify it with cosign as the release workflow does on ghcr.io,
// since cosign signs images in a registry, not in a layout.
package main

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// binaries are the files each BINDIR must hold, installed in /usr/local/bin.
var binaries = []string{"kubectl-regtoken", "kubectl-exttoken", "kubectl-bootstrap", "helm"}

const (
	uid  = 65532 // the conventional "nonroot" of distroless images
	home = "/home/nonroot"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "push":
		err = push(os.Args[2:])
	case "registry":
		err = serveRegistry(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oci-image:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: oci-image build -out DIR -version V -created RFC3339 -source URL PLATFORM=BINDIR...\n       oci-image push -layout DIR REF...\n       oci-image registry -addr-file FILE")
	os.Exit(2)
}

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	out := fs.String("out", "", "OCI layout directory to write (replaced)")
	version := fs.String("version", "", "the release version, for the image's labels")
	created := fs.String("created", "", "RFC3339 time of every file and of the image (the commit's)")
	source := fs.String("source", "", "the repository URL, for the image's labels")
	_ = fs.Parse(args)
	if *out == "" || *version == "" || *created == "" || fs.NArg() == 0 {
		usage()
	}
	when, err := time.Parse(time.RFC3339, *created)
	if err != nil {
		return fmt.Errorf("-created %q: %w", *created, err)
	}
	certs, err := caBundle()
	if err != nil {
		return err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arg := range fs.Args() {
		platform, dir, ok := strings.Cut(arg, "=")
		osName, arch, ok2 := strings.Cut(platform, "/")
		if !ok || !ok2 {
			return fmt.Errorf("%q: want os/arch=BINDIR", arg)
		}
		img, err := image(osName, arch, dir, certs, when, map[string]string{
			"org.opencontainers.image.title":       "kubectl-tokens",
			"org.opencontainers.image.description": "kubectl regtoken, exttoken and bootstrap with helm, for CI and Jobs",
			"org.opencontainers.image.version":     *version,
			"org.opencontainers.image.source":      *source,
			"org.opencontainers.image.licenses":    "Apache-2.0",
			"org.opencontainers.image.created":     when.UTC().Format(time.RFC3339),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		if err := report(platform, dir, img); err != nil {
			return fmt.Errorf("%s: %w", platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	p, err := layout.Write(*out, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": *version}))
}

// image is one platform's image: one layer holding the whole filesystem.
func image(osName, arch, dir string, certs []byte, when time.Time, labels map[string]string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime, h.Format = when, tar.FormatPAX
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	dirs := []struct {
		path string
		mode int64
		uid  int
	}{{"etc", 0o755, 0}, {"etc/ssl", 0o755, 0}, {"etc/ssl/certs", 0o755, 0}, {"home", 0o755, 0}, {strings.TrimPrefix(home, "/"), 0o700, uid}, {"tmp", 0o1777, 0}, {"usr", 0o755, 0}, {"usr/local", 0o755, 0}, {"usr/local/bin", 0o755, 0}}
	for _, d := range dirs {
		if err := add(&tar.Header{Typeflag: tar.TypeDir, Name: d.path + "/", Mode: d.mode, Uid: d.uid, Gid: d.uid}, nil); err != nil {
			return nil, err
		}
	}
	files := []struct {
		path string
		mode int64
		body []byte
	}{
		{"etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", uid, uid, home)},
		{"etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nnonroot:x:%d:\n", uid)},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, certs},
	}
	for _, b := range binaries {
		body, err := os.ReadFile(filepath.Join(dir, b))
		if err != nil {
			return nil, err
		}
		files = append(files, struct {
			path string
			mode int64
			body []byte
		}{"usr/local/bin/" + b, 0o755, body})
	}
	for _, f := range files {
		if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode}, f.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = osName, arch, v1.Time{Time: when}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = home
	cf.Config.Env = []string{"PATH=/usr/local/bin", "HOME=" + home, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = labels
	cf.History = []v1.History{{Created: v1.Time{Time: when}, CreatedBy: "hack/tools/image: kubectl-tokens plugins, helm, CA certificates", Comment: "oci-image build"}}
	return mutate.ConfigFile(img, cf)
}

// report prints what one platform's image weighs against the binaries it
// carries (issue 26 wants at most twice): the compressed layers as pushed.
func report(platform, dir string, img v1.Image) error {
	var bins int64
	for _, b := range binaries {
		info, err := os.Stat(filepath.Join(dir, b))
		if err != nil {
			return err
		}
		bins += info.Size()
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	var size int64
	for _, l := range layers {
		n, err := l.Size()
		if err != nil {
			return err
		}
		size += n
	}
	fmt.Printf("oci-image: %s: layers %d bytes compressed, binaries %d bytes (%.2f×)\n", platform, size, bins, float64(size)/float64(bins))
	return nil
}

// caBundle is the NSS roots as PEM. Roots with a distrust-after date are
// left out: a PEM bundle cannot carry that constraint.
func caBundle() ([]byte, error) {
	var out bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("no root certificates in the bundle")
	}
	return out.Bytes(), nil
}

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	dir := fs.String("layout", "", "OCI layout directory written by build")
	_ = fs.Parse(args)
	if *dir == "" || fs.NArg() == 0 {
		usage()
	}
	p, err := layout.FromPath(*dir)
	if err != nil {
		return err
	}
	root, err := p.ImageIndex()
	if err != nil {
		return err
	}
	m, err := root.IndexManifest()
	if err != nil {
		return err
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("%s: want one image index in the layout, found %d entries", *dir, len(m.Manifests))
	}
	idx, err := root.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	for _, r := range fs.Args() {
		ref, err := name.ParseReference(r)
		if err != nil {
			return err
		}
		if err := remote.WriteIndex(ref, idx, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", ref, err)
		}
		fmt.Printf("%s@%s\n", ref, digest)
	}
	return nil
}

func serveRegistry(args []string) error {
	fs := flag.NewFlagSet("registry", flag.ExitOnError)
	addrFile := fs.String("addr-file", "", "file to write the registry's host:port to once it listens")
	_ = fs.Parse(args)
	if *addrFile == "" || fs.NArg() != 0 {
		usage()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: time.Minute}
	// Written whole or not at all: the caller waits for the file.
	tmp := *addrFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(l.Addr().String()), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *addrFile); err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}
