package bootstrap

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The expected values were computed outside Go when the testdata was
// generated (see testdata/README.md), never by the code under test:
//
//	sha256sum < root.pem
//	openssl x509 -in root.pem -outform der | sha256sum
//	openssl x509 -pubkey -noout -in root.pem | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex
const (
	hashRootPEM         = "66c9f83966db7f6ae4318ad9749425d6e1e0bc6734b87452c1210da7640b4b61"
	hashRootNoNewline   = "07f422bf4e21fe503ffc228affa81b9f08dbce38d42d8fbe8f45d04db1b5a893"
	hashRootDER         = "ba64aa90c41ec87c0c640ef0fa11a56b1b611e3cc5308163a835c8fee7f5d5b0"
	hashUnrelatedBundle = "a9ef033ed49c75573603c8d653a42674661c522a7a01671d30f701a13fd316d8"
	spkiRoot            = "sha256:1ffcb0103f552b7cdb9305f96619a1f514210ff1ec392e5a445b0bb1c9d41a2f"
	spkiIntermediate    = "sha256:850ea0ea2b9d91acbe34bb2387df9e47869b493f7c3f3020413ac64af225ae46"
	spkiOtherRSA        = "sha256:955d40a590c4f156aeb92abf2383e20b0248d98e95da917b79035dcc93b149a1"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestK10CAHashVectors(t *testing.T) {
	for _, tc := range []struct {
		file, want, why string
	}{
		{"root.pem", hashRootPEM, "one certificate: sha256 of the exact bytes, trailing newline included"},
		{"root-no-newline.pem", hashRootNoNewline, "the same certificate without the trailing newline hashes differently"},
		{"bundle.pem", hashRootDER, "intermediate + root: sha256 of the root's DER"},
		{"unrelated-bundle.pem", hashUnrelatedBundle, "a bundle whose first certificate does not verify: sha256 of the raw bytes"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := K10CAHash(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s (%s): got %s, want %s", tc.file, tc.why, got, tc.want)
			}
		})
	}
}

func TestK10CAHashBundleKeepsRootAcrossIntermediates(t *testing.T) {
	// Renewing the intermediate must not change the hash: only the root
	// counts. The bundle's first cert differs from the root's file, the
	// hash does not depend on the bundle's bytes.
	a, err := K10CAHash(readTestdata(t, "bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := K10CAHash(append(readTestdata(t, "bundle.pem"), '\n', '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a != hashRootDER {
		t.Errorf("bundle hash depends on its bytes: %s vs %s (want %s)", a, b, hashRootDER)
	}
}

func TestK10CAHashRejectsNonPEM(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello"), []byte("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")} {
		if h, err := K10CAHash(in); err == nil {
			t.Errorf("K10CAHash(%q) = %s, want an error", in, h)
		}
	}
}

func TestSecureToken(t *testing.T) {
	got := SecureToken(hashRootPEM, "abcdef.0123456789abcdef")
	want := "K10" + hashRootPEM + "::abcdef.0123456789abcdef"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	p, err := ParseToken(got, "x", false)
	if err != nil || !p.Secure || p.CAHash != hashRootPEM || p.Short() != "abcdef.0123456789abcdef" {
		t.Errorf("ParseToken(SecureToken(...)) = %+v, %v", p, err)
	}
}

func TestDiscoveryHashes(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"root.pem", []string{spkiRoot}},
		{"other.pem", []string{spkiOtherRSA}},
		// kubeadm prints one hash per certificate in the CA data, in order.
		{"bundle.pem", []string{spkiIntermediate, spkiRoot}},
		{"unrelated-bundle.pem", []string{spkiRoot, spkiOtherRSA}},
	} {
		got, err := DiscoveryHashes(readTestdata(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.file, got, tc.want)
		}
	}
	if _, err := DiscoveryHashes([]byte("not pem")); err == nil {
		t.Error("DiscoveryHashes(not pem): want an error")
	}
}
