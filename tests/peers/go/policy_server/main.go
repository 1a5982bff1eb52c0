// Command policy_server is a grpc-go server whose connection policies are set
// by flags: keepalive enforcement (a client that pings too often receives
// GOAWAY ENHANCE_YOUR_CALM "too_many_pings"), connection age, idleness and
// MAX_CONCURRENT_STREAMS. It serves grpc.health.v1.Health and, unless
// -test_service=false, grpc.testing.TestService (grpc-go's interop handlers),
// and server reflection (grpc.reflection.v1alpha, the only version grpc-go
// 1.33 has), which `tether list` and `tether call` use.
//
// Built by scripts/install-peers.sh --with-go against Debian's grpc-go 1.33.3
// (GOPATH mode). Listens on a loopback address (-host, 127.0.0.0/8 only, so
// that several servers share a port on 127.0.0.2, .3, .4) and exits after
// -lifetime. Every response carries the header `x-backend: <host:port>` (the
// address it listens on; in the trailers of the x-fail-attempts failures
// below), so a test sees which backend served each call.
//
// Health: "" and "tether.test" are SERVING, "tether.down" is NOT_SERVING.
// SIGUSR1 sets "" and "tether.test" to NOT_SERVING, SIGUSR2 back to SERVING
// (Watch streams see each change).
//
// Per-call behaviour for retry tests (gRFC A6), driven by request metadata. It
// applies to every grpc.testing.TestService method, never to Health or
// reflection. "The attempt number" below is the request's
// `grpc-previous-rpc-attempts` header (absent: 0).
//
//   - `x-fail-attempts: N`: while the attempt number is < N, the call fails
//     before the handler runs (and, for client-streaming methods, before any
//     request message is read). No header is sent, so grpc-go answers
//     trailers-only: the status is `x-fail-code` (a code name such as
//     UNAVAILABLE, case-insensitive, or its number; default UNAVAILABLE) with
//     the message "failing attempt K of N (x-fail-attempts)", K being the
//     attempt number + 1. The trailers carry `x-backend` (and
//     `x-attempts-seen`, below). A malformed x-fail-attempts, x-fail-code
//     (or OK) or grpc-previous-rpc-attempts fails the call with
//     INVALID_ARGUMENT, trailers-only as well.
//   - `x-pushback-ms: V`: a failure so caused carries the trailer
//     `grpc-retry-pushback-ms: V`, each value passed through verbatim
//     (negative, garbage: as sent).
//   - `x-call-id: ID`: the server appends the attempt's
//     grpc-previous-rpc-attempts value, as sent ("0" when absent), to an
//     in-memory list for ID, for every attempt, failed or not (the oldest IDs
//     are forgotten beyond 10,000). The response carries
//     `x-attempts-seen: 0,1,2` (that list so far, this attempt included): in
//     its headers when the call reaches the handler, in its trailers when it
//     fails as above.
//
// -delay D (default 0: none): every TestService call that reaches the handler
// (that is, not failed by x-fail-attempts) first waits D; if the call's
// context ends first, the call ends with its status (DEADLINE_EXCEEDED or
// CANCELLED). Health and reflection answer at once. When -delay is set,
// SIGHUP toggles the delay off and on (it starts on) and prints "delay off" or
// "delay on" to stdout; with -delay 0, SIGHUP only prints that it is ignored.
//
// -die_after_messages N (default 0: off): once StreamingInputCall and
// FullDuplexCall calls have received N request messages in total over the
// process's life, the process prints "dying after N messages" to stdout and
// exits at once with status 3, answering nothing (a pod killed mid-stream:
// clients see their connection drop).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	// Registers gzip: compressed requests are accepted and answered compressed.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

var (
	host                  = flag.String("host", "127.0.0.1", "listen address, in 127.0.0.0/8 only")
	port                  = flag.Int("port", 0, "port on -host (0: pick a free one and print it)")
	minTime               = flag.Duration("min_time", 5*time.Minute, "keepalive enforcement: minimum interval between client pings")
	permitWithoutStream   = flag.Bool("permit_without_stream", false, "keepalive enforcement: allow pings when no stream is open")
	maxConnectionAge      = flag.Duration("max_connection_age", 0, "GOAWAY a connection after this long (0: never)")
	maxConnectionAgeGrace = flag.Duration("max_connection_age_grace", 0, "after max_connection_age, close the connection this long later (0: never)")
	maxConnectionIdle     = flag.Duration("max_connection_idle", 0, "GOAWAY a connection idle this long (0: never)")
	keepaliveTime         = flag.Duration("keepalive_time", 0, "server pings an idle connection after this long (0: grpc-go default, 2h)")
	keepaliveTimeout      = flag.Duration("keepalive_timeout", 0, "server closes the connection if a ping is not acked within this (0: default, 20s)")
	maxConcurrentStreams  = flag.Uint("max_concurrent_streams", 0, "SETTINGS_MAX_CONCURRENT_STREAMS (0: unlimited)")
	testService           = flag.Bool("test_service", true, "also serve grpc.testing.TestService")
	tlsCert               = flag.String("tls_cert", "", "serve TLS with this certificate (PEM) ...")
	tlsKey                = flag.String("tls_key", "", "... and this key (PEM)")
	lifetime              = flag.Duration("lifetime", 300*time.Second, "exit after this long, whatever happens")
	delay                 = flag.Duration("delay", 0, "TestService calls wait this long before their handler runs (0: none; SIGHUP toggles it)")
	dieAfterMessages      = flag.Int64("die_after_messages", 0, "exit(3) once StreamingInputCall and FullDuplexCall have received this many request messages in all (0: never)")
)

// backendHeader is the `x-backend` response header, set once the listener's
// address is known.
var backendHeader metadata.MD

// testServicePrefix starts the full method name of every TestService method:
// the per-call behaviours apply to these only.
const testServicePrefix = "/grpc.testing.TestService/"

// delayOn is 1 while -delay applies (SIGHUP toggles it).
var delayOn int32 = 1

// messagesReceived counts request messages received by StreamingInputCall and
// FullDuplexCall, for -die_after_messages.
var messagesReceived int64

// The attempt log of x-call-id: ID -> grpc-previous-rpc-attempts values, in
// arrival order; attemptOrder remembers the IDs oldest first, to forget the
// oldest beyond maxCallIDs.
const maxCallIDs = 10000

var (
	attemptMu    sync.Mutex
	attemptLog   = map[string][]string{}
	attemptOrder []string
)

// recordAttempt appends attempt to the log of id and returns the log so far,
// comma-joined.
func recordAttempt(id, attempt string) string {
	attemptMu.Lock()
	defer attemptMu.Unlock()
	seen, known := attemptLog[id]
	if !known {
		attemptOrder = append(attemptOrder, id)
		for len(attemptOrder) > maxCallIDs {
			delete(attemptLog, attemptOrder[0])
			attemptOrder = attemptOrder[1:]
		}
	}
	seen = append(seen, attempt)
	attemptLog[id] = seen
	return strings.Join(seen, ",")
}

// codeByName maps "UNAVAILABLE" (and so on) to its code.
var codeByName = func() map[string]codes.Code {
	names := []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
	m := make(map[string]codes.Code, len(names))
	for i, n := range names {
		m[n] = codes.Code(i)
	}
	return m
}()

func parseCode(s string) (codes.Code, bool) {
	if c, ok := codeByName[strings.ToUpper(strings.TrimSpace(s))]; ok {
		return c, true
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n <= 16 {
		return codes.Code(n), true
	}
	return codes.OK, false
}

// firstValue is the first value of key in md, and whether there is one.
func firstValue(md metadata.MD, key string) (string, bool) {
	if v := md.Get(key); len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// admit applies the per-call behaviours of a TestService call before its
// handler runs: the attempt log, the x-fail-attempts failure, the delay. It
// returns the headers to set on success, or the trailers to set with a
// non-nil error (which the caller returns without running the handler).
func admit(ctx context.Context) (header metadata.MD, trailer metadata.MD, err error) {
	md, _ := metadata.FromIncomingContext(ctx)
	header = backendHeader.Copy()
	prev, hasPrev := firstValue(md, "grpc-previous-rpc-attempts")
	if !hasPrev {
		prev = "0"
	}
	if id, ok := firstValue(md, "x-call-id"); ok {
		header.Set("x-attempts-seen", recordAttempt(id, prev))
	}
	if failAttempts, ok := firstValue(md, "x-fail-attempts"); ok {
		if injected, ferr := injectedFailure(md, prev, failAttempts); ferr != nil {
			// The would-be headers travel in the trailers: sending headers
			// would turn the trailers-only answer into headers + trailers.
			trailer = header
			if pushback := md.Get("x-pushback-ms"); injected && len(pushback) > 0 {
				trailer.Set("grpc-retry-pushback-ms", pushback...)
			}
			return nil, trailer, ferr
		}
	}
	if *delay > 0 && atomic.LoadInt32(&delayOn) == 1 {
		t := time.NewTimer(*delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return header, nil, nil
}

// injectedFailure is the x-fail-attempts failure of this attempt (injected:
// true), an INVALID_ARGUMENT error for malformed metadata (injected: false),
// or nil.
func injectedFailure(md metadata.MD, prev, failAttempts string) (injected bool, err error) {
	n, perr := strconv.Atoi(strings.TrimSpace(failAttempts))
	if perr != nil {
		return false, status.Errorf(codes.InvalidArgument, "policy_server: bad x-fail-attempts %q", failAttempts)
	}
	attempt, perr := strconv.Atoi(strings.TrimSpace(prev))
	if perr != nil || attempt < 0 {
		return false, status.Errorf(codes.InvalidArgument, "policy_server: bad grpc-previous-rpc-attempts %q", prev)
	}
	if attempt >= n {
		return false, nil
	}
	code := codes.Unavailable
	if name, ok := firstValue(md, "x-fail-code"); ok {
		c, ok := parseCode(name)
		if !ok || c == codes.OK {
			return false, status.Errorf(codes.InvalidArgument, "policy_server: bad x-fail-code %q", name)
		}
		code = c
	}
	return true, status.Errorf(code, "failing attempt %d of %d (x-fail-attempts)", attempt+1, n)
}

func unaryBackend(ctx context.Context, req interface{}, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (interface{}, error) {
	header := backendHeader
	if strings.HasPrefix(info.FullMethod, testServicePrefix) {
		h, trailer, err := admit(ctx)
		if err != nil {
			if trailer != nil {
				grpc.SetTrailer(ctx, trailer)
			}
			return nil, err
		}
		header = h
	}
	if err := grpc.SetHeader(ctx, header); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// countingStream counts the request messages it receives, for
// -die_after_messages.
type countingStream struct {
	grpc.ServerStream
}

func (s countingStream) RecvMsg(m interface{}) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil && atomic.AddInt64(&messagesReceived, 1) >= *dieAfterMessages {
		fmt.Printf("dying after %d messages\n", *dieAfterMessages)
		os.Stdout.Sync()
		os.Exit(3)
	}
	return err
}

func streamBackend(srv interface{}, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	header := backendHeader
	if strings.HasPrefix(info.FullMethod, testServicePrefix) {
		h, trailer, err := admit(ss.Context())
		if err != nil {
			if trailer != nil {
				ss.SetTrailer(trailer)
			}
			return err
		}
		header = h
		if *dieAfterMessages > 0 && (info.FullMethod == testServicePrefix+"StreamingInputCall" ||
			info.FullMethod == testServicePrefix+"FullDuplexCall") {
			ss = countingStream{ss}
		}
	}
	if err := ss.SetHeader(header); err != nil {
		return err
	}
	return handler(srv, ss)
}

func main() {
	flag.Parse()

	ip := net.ParseIP(*host)
	if ip == nil || ip.To4() == nil || ip.To4()[0] != 127 {
		log.Fatalf("policy_server: -host %q: only addresses in 127.0.0.0/8 are allowed", *host)
	}

	opts := []grpc.ServerOption{
		grpc.UnaryInterceptor(unaryBackend),
		grpc.StreamInterceptor(streamBackend),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             *minTime,
			PermitWithoutStream: *permitWithoutStream,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     *maxConnectionIdle,
			MaxConnectionAge:      *maxConnectionAge,
			MaxConnectionAgeGrace: *maxConnectionAgeGrace,
			Time:                  *keepaliveTime,
			Timeout:               *keepaliveTimeout,
		}),
	}
	if *maxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(*maxConcurrentStreams)))
	}
	if *tlsCert != "" || *tlsKey != "" {
		creds, err := credentials.NewServerTLSFromFile(*tlsCert, *tlsKey)
		if err != nil {
			log.Fatalf("policy_server: TLS: %v", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}

	// Signals are caught before the port accepts: a test that signals as
	// soon as it can connect must not kill the process (SIGHUP's default).
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)

	lis, err := net.Listen("tcp", net.JoinHostPort(ip.String(), fmt.Sprint(*port)))
	if err != nil {
		log.Fatalf("policy_server: listen: %v", err)
	}
	backendHeader = metadata.Pairs("x-backend", lis.Addr().String())
	server := grpc.NewServer(opts...)

	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("tether.test", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("tether.down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(server, hs)
	if *testService {
		testpb.RegisterTestServiceServer(server, interop.NewTestServer())
	}
	reflection.Register(server)

	go func() {
		for s := range signals {
			switch s {
			case syscall.SIGHUP:
				if *delay <= 0 {
					fmt.Println("no -delay: SIGHUP ignored")
				} else if atomic.LoadInt32(&delayOn) == 1 {
					atomic.StoreInt32(&delayOn, 0) // only this goroutine writes it
					fmt.Println("delay off")
				} else {
					atomic.StoreInt32(&delayOn, 1)
					fmt.Println("delay on")
				}
				os.Stdout.Sync()
			case syscall.SIGUSR1:
				hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
				hs.SetServingStatus("tether.test", healthpb.HealthCheckResponse_NOT_SERVING)
				log.Printf("policy_server: NOT_SERVING")
			case syscall.SIGUSR2:
				hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
				hs.SetServingStatus("tether.test", healthpb.HealthCheckResponse_SERVING)
				log.Printf("policy_server: SERVING")
			default:
				server.Stop()
				os.Exit(0)
			}
		}
	}()
	time.AfterFunc(*lifetime, func() {
		log.Printf("policy_server: lifetime %v over, exiting", *lifetime)
		os.Exit(0)
	})

	fmt.Printf("policy_server listening on %s\n", lis.Addr())
	os.Stdout.Sync()
	if err := server.Serve(lis); err != nil {
		log.Fatalf("policy_server: serve: %v", err)
	}
}
