// SPDX-License-Identifier: GPL-2.0-or-later
// goclient: GETs a URL the way Go agents do (crypto/tls, trusting
// SSL_CERT_FILE) and prints the status and the body's SHA-256 as JSON.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	c := &http.Client{Timeout: 20 * time.Second}
	r, err := c.Get(os.Args[1])
	if err != nil {
		json.NewEncoder(os.Stdout).Encode(map[string]string{"error": err.Error()})
		os.Exit(1)
	}
	defer r.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	out := map[string]interface{}{
		"status":        r.StatusCode,
		"len":           n,
		"sha256":        hex.EncodeToString(h.Sum(nil)),
		"x_body_sha256": r.Header.Get("X-Body-Sha256"),
	}
	json.NewEncoder(os.Stdout).Encode(out)
	if err != nil || r.StatusCode != 200 {
		os.Exit(1)
	}
}
