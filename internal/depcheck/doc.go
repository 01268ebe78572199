// Package depcheck holds the module's dependency rules, as a test: test
// support stays out of what ships, and the lock format stays light.
//
// TestDependencies fails when a package outside internal/testing links
// test support, the demo (internal/demo) excepted (tests may import it),
// or when lock links registry or Dockerfile code.
package depcheck
