package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	gort "runtime"
	"time"

	"attune"
	"attune/api"
	"attune/engine/kernels"
	"attune/jobs"
	"attune/runtime"
)

func init() {
	register("serve", "run the API server, its job workers and the model runtime", func(ctx context.Context, args []string) error {
		return serve(ctx, args, osStdio())
	})
}

// serveConfig is what `attune serve` runs with.
type serveConfig struct {
	Addr    string
	DataDir string
	API     api.Config
	Runtime runtime.Config
	Jobs    jobs.Config
	// EvalMaxTokens bounds each answer an evaluation generates (0: the
	// evaluator's default).
	EvalMaxTokens int
	// ShutdownGrace is how long in-flight requests and running jobs get to
	// finish after a stop signal.
	ShutdownGrace time.Duration
	// ComputeNice is the nice value (0 to 19) of the threads that train
	// and run the kernels' parallel parts; see computePriority.
	ComputeNice int
	Logger      *slog.Logger
}

// serve parses the flags of `attune serve` and runs the server until ctx
// ends (SIGINT or SIGTERM).
func serve(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("serve", "serve [--addr HOST:PORT] [--data-dir DIR] [flags]", io)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	rate := fs.Float64("rate-limit", 50, "requests per second allowed to each API key by default (0: unlimited); a key's own limit overrides it")
	burst := fs.Int("rate-burst", 100, "requests a key may send at once before the rate limit applies")
	slots := fs.Int("slots", 4, "inference requests decoded together; more wait in a fair queue")
	queue := fs.Int("queue", 64, "inference requests that may wait; more are refused with 503")
	maxUpload := fs.Int64("max-file-mb", 100, "largest uploaded file, in MB")
	trainWorkers := fs.Int("train-workers", 1, "alignments that train at once")
	evalTokens := fs.Int("eval-max-tokens", 128, "longest answer, in tokens, an evaluation lets a model give")
	grace := fs.Duration("shutdown-grace", 30*time.Second, "time in-flight requests and jobs get to finish on shutdown")
	logJSON := fs.Bool("log-json", false, "write logs as JSON lines instead of text")
	q8 := fs.Bool("q8", false, "serve base models in the engine's fast mode: int8 weights and integer products, about half the memory and faster, logits within about 1.5% (chat and evaluations alike)")
	nice := fs.Int("compute-nice", 10, "nice value (0-19) of the threads that train models and run the engine's parallel work, so that API requests stay fast while a model trains (0: the same priority as requests)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	logw := newBufferedLog(io.errw, 100*time.Millisecond)
	defer logw.Close()
	var h slog.Handler = slog.NewTextHandler(logw, nil)
	if *logJSON {
		h = slog.NewJSONHandler(logw, nil)
	}
	cfg := serveConfig{
		Addr: *addr, DataDir: *dataDir, ShutdownGrace: *grace, Logger: slog.New(h), EvalMaxTokens: *evalTokens,
		ComputeNice: *nice,
		API: api.Config{
			UploadFileLimit: *maxUpload * 1_000_000,
			RateLimit:       api.RateLimit{PerSecond: *rate, Burst: *burst},
		},
		Runtime: runtime.Config{Slots: *slots, QueueLimit: *queue, Q8: *q8},
		Jobs:    jobs.Config{TrainWorkers: *trainWorkers},
	}
	return runServer(ctx, cfg, nil)
}

// runServer wires the store, blobs, job queue and workers, model runtime
// and HTTP API of one data directory and serves until ctx ends. ready,
// when not nil, is told the address the server listens on once it
// accepts connections. On shutdown, requests in flight finish, then
// running jobs checkpoint and stop, to resume at the next start.
func runServer(ctx context.Context, cfg serveConfig, ready func(addr string)) error {
	log := cfg.Logger
	if cfg.ComputeNice < 0 || cfg.ComputeNice > 19 {
		return fmt.Errorf("serve: --compute-nice must be between 0 and 19, not %d", cfg.ComputeNice)
	}
	computePriority(cfg.ComputeNice)
	gcCtx, stopGC := context.WithCancel(ctx)
	defer stopGC()
	go keepGCHeadroom(gcCtx, gcMinHeadroom, log)
	layout := layoutOf(cfg.DataDir)
	st, err := openStore(ctx, cfg.DataDir, log.With(slog.String("component", "store")))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer st.Close()
	blobs, err := openBlobs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	rt, err := runtime.New(cfg.Runtime, log.With(slog.String("component", "runtime")))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer rt.Close()

	// The job system, with a step implementation for each kind of work.
	jcfg := cfg.Jobs
	jcfg.Path, jcfg.WorkDir = layout.Jobs, layout.Work
	metrics := api.NewMetrics()
	q, err := jobs.New(ctx, jcfg, jobDeps(st, blobs, rt, metrics, cfg.EvalMaxTokens, cfg.ComputeNice, log))
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer q.Close()
	metrics.JobsByState = q.Counts
	srv, err := api.New(cfg.API, api.Deps{
		Store: st, Blobs: blobs, Queue: q, Runtime: rt,
		Logger: log.With(slog.String("component", "api")), Metrics: metrics,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: cannot listen on %s: %w", cfg.Addr, err)
	}
	// The workers outlive ctx: they stop, checkpointing, in shutdown.
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		ln.Close()
		return fmt.Errorf("serve: cannot start the job workers: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	log.Info("attune is serving", slog.String("url", url), slog.String("data_dir", cfg.DataDir))
	if ready != nil {
		ready(ln.Addr().String())
	}
	go warmDeployed(ctx, st, rt, log)

	select {
	case err = <-errc:
		log.Error("the HTTP server stopped", slog.String("error", err.Error()))
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight, then checkpointing jobs")
	}
	return shutdown(hs, q, cfg.ShutdownGrace, log, err)
}

// shutdown stops taking requests and waits for those in flight, then stops
// the job workers, which checkpoint what they run.
func shutdown(hs *http.Server, q *jobs.Client, grace time.Duration, log *slog.Logger, cause error) error {
	if grace <= 0 {
		grace = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	errs := []error{}
	if cause != nil && !errors.Is(cause, http.ErrServerClosed) {
		errs = append(errs, cause)
	}
	if err := hs.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("serve: requests still in flight at shutdown: %w", err))
	}
	if err := q.Stop(ctx); err != nil {
		errs = append(errs, fmt.Errorf("serve: jobs still running at shutdown: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("attune stopped")
	return nil
}

// warmDeployed loads the models that were deployed when the server last
// stopped, so that their first requests do not wait for the load. A model
// that fails to load is logged; its requests will report why.
func warmDeployed(ctx context.Context, st attune.Store, rt *runtime.Runtime, log *slog.Logger) {
	ms, err := st.DeployedModels(ctx)
	if err != nil {
		log.Warn("cannot list deployed models to load them", slog.String("error", err.Error()))
		return
	}
	for _, m := range ms {
		if m.DeploymentStatus != attune.Deployed || m.AdapterPath == "" {
			continue
		}
		b, err := st.BaseModel(ctx, m.BaseModel)
		if err == nil {
			err = rt.Deploy(ctx, runtime.Target{BaseID: b.ID, BaseDir: b.Path, ModelID: m.ID, AdapterDir: m.AdapterPath})
		}
		if err != nil {
			log.Warn("cannot load a deployed model", slog.String("model_id", m.ID), slog.String("error", err.Error()))
		}
	}
}

// jobDeps gives the jobs their step implementations: the runtime loads and
// unloads deployed models, and training counts its tokens into metrics.
func jobDeps(st attune.Store, blobs attune.Blobs, rt *runtime.Runtime, metrics *api.Metrics, evalTokens, nice int, log *slog.Logger) jobs.Deps {
	log = log.With(slog.String("component", "jobs"))
	return jobs.Deps{
		Store: st, Blobs: blobs, Logger: log,
		Extractor:  jobs.Ingest{},
		Generator:  jobs.Extractive{},
		Evaluator:  jobs.RuntimeEvaluator{Runtime: rt, MaxTokens: evalTokens},
		Trainer:    countingTrainer{jobs.EngineTrainer{Nice: nice, Logger: log}, metrics},
		Deployer:   deployer{rt},
		Undeployer: rt,
	}
}

// computePriority keeps the API responsive while the engine computes.
// Go runs goroutines on GOMAXPROCS threads at a time; with one per core,
// a training run and the kernels' workers hold them all and a request
// waits for the scheduler to preempt them (10 ms slices). So the server
// gets two more than the cores, and the compute threads run at a lower OS
// priority (nice): requests find a free slot at once and the kernel gives
// their threads the CPU first. The kernels' pool keeps its size (one
// worker fewer than the cores, plus the caller), so compute never
// oversubscribes.
func computePriority(nice int) {
	if nice <= 0 {
		return
	}
	if gort.GOMAXPROCS(0) == gort.NumCPU() {
		gort.GOMAXPROCS(gort.NumCPU() + 2)
	}
	kernels.SetWorkerNice(nice)
}

// deployer loads an aligned model into the runtime for the deploy job.
type deployer struct{ rt *runtime.Runtime }

func (d deployer) Deploy(ctx context.Context, m attune.AlignedModel, base attune.BaseModel, adapterDir string) error {
	return d.rt.Deploy(ctx, runtime.Target{
		BaseID: base.ID, BaseDir: base.Path, ModelID: m.ID, AdapterDir: adapterDir,
	})
}

// countingTrainer counts the tokens a training run goes through, for
// /metrics. Progress reports carry the measured throughput, not a count,
// so the count is that rate integrated over the time between reports.
type countingTrainer struct {
	jobs.Trainer
	metrics *api.Metrics
}

func (t countingTrainer) Train(ctx context.Context, req jobs.TrainRequest, progress func(jobs.TrainProgress)) (jobs.TrainResult, error) {
	last := time.Now()
	return t.Trainer.Train(ctx, req, func(p jobs.TrainProgress) {
		now := time.Now()
		t.metrics.AddTokensTrained(int(p.TokensPerSec * now.Sub(last).Seconds()))
		last = now
		progress(p)
	})
}
