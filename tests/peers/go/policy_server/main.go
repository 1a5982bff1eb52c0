// Command policy_server is a grpc-go server whose connection policies are set
// by flags: keepalive enforcement (a client that pings too often receives
// GOAWAY ENHANCE_YOUR_CALM "too_many_pings"), connection age, idleness and
// MAX_CONCURRENT_STREAMS. It serves grpc.health.v1.Health and, unless
// -test_service=false, grpc.testing.TestService (grpc-go's interop handlers).
//
// Built by scripts/install-peers.sh --with-go against Debian's grpc-go 1.33.3
// (GOPATH mode). Listens on a loopback address (-host, 127.0.0.0/8 only, so
// that several servers share a port on 127.0.0.2, .3, .4) and exits after
// -lifetime. Every response carries the header `x-backend: <host:port>` (the
// address it listens on), so a test sees which backend served each call.
//
// Health: "" and "tether.test" are SERVING, "tether.down" is NOT_SERVING.
// SIGUSR1 sets "" and "tether.test" to NOT_SERVING, SIGUSR2 back to SERVING
// (Watch streams see each change).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
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
)

// backendHeader is the `x-backend` response header, set once the listener's
// address is known.
var backendHeader metadata.MD

func unaryBackend(ctx context.Context, req interface{}, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (interface{}, error) {
	if err := grpc.SetHeader(ctx, backendHeader); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func streamBackend(srv interface{}, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := ss.SetHeader(backendHeader); err != nil {
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

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range signals {
			switch s {
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
