// SPDX-License-Identifier: GPL-2.0-or-later
// fake_ls: a stand-in language server for tests/e2e/standalone.sh. Like
// the real one (Go, crypto/tls) it trusts only SSL_CERT_FILE (with
// SSL_CERT_DIR=/dev/null Go reads no other store); it POSTs to URL every
// INTERVAL milliseconds and prints one line per call.
//
//	fake_ls URL INTERVAL_MS
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fake_ls URL INTERVAL_MS")
		os.Exit(2)
	}
	ms, _ := strconv.Atoi(os.Args[2])
	fmt.Printf("fake-ls: pid %d uid %d started, SSL_CERT_FILE=%s\n",
		os.Getpid(), os.Getuid(), os.Getenv("SSL_CERT_FILE"))
	c := &http.Client{Timeout: 20 * time.Second}
	for n := 1; ; n++ {
		r, err := c.Post(os.Args[1], "application/json",
			strings.NewReader(`{"contents":[]}`))
		if err != nil {
			fmt.Printf("fake-ls: call %d error %v\n", n, err)
		} else {
			b, _ := io.Copy(io.Discard, r.Body)
			r.Body.Close()
			fmt.Printf("fake-ls: call %d status %d bytes %d\n", n,
				r.StatusCode, b)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
}
