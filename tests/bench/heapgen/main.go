// heapgen builds a heap of about 1.1 * N objects (a linked list of N
// *Item, a []byte of 64..763 bytes for every tenth, a map entry for every
// twentieth), collects garbage and dumps core by SIGQUIT.  For benchmarks:
// run it with GOTRACEBACK=crash and `ulimit -c unlimited`.
package main

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
)

type Item struct {
	Next *Item
	Name string
	Val  [2]int
}

var items []*Item
var bufs [][]byte
var mm = map[int]*Item{}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	for i := 0; i < n; i++ {
		it := &Item{Val: [2]int{i, i}}
		if i > 0 {
			it.Next = items[i-1]
		}
		items = append(items, it)
		if i%10 == 0 {
			bufs = append(bufs, make([]byte, 64+i%700))
		}
		if i%20 == 0 {
			mm[i] = it
		}
	}
	runtime.GC()
	syscall.Kill(os.Getpid(), syscall.SIGQUIT)
	select {}
}
