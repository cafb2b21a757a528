package winsvc

// Died: the fake tunnel of the service tests never dies on its own.
func (t *markTunnel) Died() <-chan error { return nil }
