//go:build !unix

package bench

import "time"

// cpuTime is not measured here: cpu-ns/op is reported as 0.
func cpuTime() time.Duration { return 0 }
