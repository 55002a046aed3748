//go:build !unix

package run

import "time"

// processCPU is 0 where the platform offers no getrusage.
func processCPU() time.Duration { return 0 }
