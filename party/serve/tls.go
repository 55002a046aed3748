package serve

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Fingerprint is the hex SHA-256 of a certificate's DER encoding: what a
// client pins (client.Options.Fingerprint).
func Fingerprint(der []byte) string {
	d := sha256.Sum256(der)
	return hex.EncodeToString(d[:])
}

// Certificate loads the service's TLS certificate from certFile and keyFile,
// or, when both are empty, from dir/serve-cert.pem and dir/serve-key.pem,
// creating a self-signed one there on first use (ECDSA P-256, valid for
// hosts, ten years). It returns the certificate and its fingerprint.
func Certificate(certFile, keyFile, dir string, hosts []string) (tls.Certificate, string, error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, "", errors.New("give both a certificate and its key, or neither")
	}
	if certFile == "" {
		certFile, keyFile = filepath.Join(dir, "serve-cert.pem"), filepath.Join(dir, "serve-key.pem")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := selfSigned(certFile, keyFile, hosts); err != nil {
				return tls.Certificate{}, "", err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("TLS certificate: %w", err)
	}
	return cert, Fingerprint(cert.Certificate[0]), nil
}

func selfSigned(certFile, keyFile string, hosts []string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "tessera serve"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// PinnedTLS is a client TLS configuration that accepts exactly the
// certificate of the given fingerprint (a self-signed service's).
func PinnedTLS(fingerprint string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		MinVersion:         tls.VersionTLS13,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || Fingerprint(raw[0]) != fingerprint {
				return fmt.Errorf("the server's certificate does not match the pinned fingerprint %.16s...", fingerprint)
			}
			return nil
		},
	}
}
