package tun

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// netnsID identifies a network namespace: the nsfs inode of its handle.
type netnsID struct{ dev, ino uint64 }

func netnsIdentity(nsfd int) (netnsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(nsfd, &st); err != nil {
		return netnsID{}, fmt.Errorf("stat netns handle: %w", err)
	}
	return netnsID{dev: st.Dev, ino: st.Ino}, nil
}

// socketInNetns opens a socket inside the network namespace nsfd refers
// to, or in the caller's namespace when nsfd is negative. A socket stays in
// the namespace it was created in, whichever thread later uses it.
//
// Switching namespaces (setns) needs CAP_SYS_ADMIN, which a daemon holding
// only CAP_NET_ADMIN lacks; it is skipped when the interface lives in the
// namespace the caller runs in, the usual case.
func socketInNetns(nsfd, domain, typ, proto int) (int, error) {
	typ |= unix.SOCK_CLOEXEC
	if nsfd < 0 {
		return unix.Socket(domain, typ, proto)
	}
	if fd, ok, err := socketIfSameNetns(nsfd, domain, typ, proto); ok {
		return fd, err
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is never unlocked: once it has switched namespaces
		// it must not run other goroutines, so the runtime discards it
		// when this goroutine returns.
		runtime.LockOSThread()
		if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
			ch <- result{-1, fmt.Errorf("enter the interface's network namespace: setns: %w", err)}
			return
		}
		fd, err := unix.Socket(domain, typ, proto)
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// socketIfSameNetns opens the socket if the calling thread already is in
// namespace nsfd; ok reports whether it was.
func socketIfSameNetns(nsfd, domain, typ, proto int) (fd int, ok bool, err error) {
	want, err := netnsIdentity(nsfd)
	if err != nil {
		return -1, false, nil
	}
	// Stay on this thread between the check and the socket call.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return -1, false, nil
	}
	defer self.Close()
	here, err := netnsIdentity(int(self.Fd()))
	if err != nil || here != want {
		return -1, false, nil
	}
	fd, err = unix.Socket(domain, typ, proto)
	return fd, true, err
}

// noDevNetns reports whether TUNGETDEVNETNS failed because the kernel (or
// our privileges) cannot tell the device's namespace; the caller's
// namespace is then the best guess.
func noDevNetns(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM)
}
