package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// config is everything `tuna serve` reads. Precedence, lowest first: the
// defaults below, the config file, TUNA_* environment variables, flags.
type config struct {
	Listen         string                    `yaml:"listen" flag:"listen" usage:"public address"`
	AdminListen    string                    `yaml:"admin_listen" flag:"admin-listen" usage:"admin address (keep it on loopback)"`
	Data           string                    `yaml:"data" flag:"data" usage:"folder for the session table and other state"`
	Scripts        string                    `yaml:"scripts" flag:"scripts" usage:"scripts folder"`
	Protocols      string                    `yaml:"protocols" flag:"protocols" usage:"protocols folder"`
	AdminToken     string                    `yaml:"admin_token" flag:"admin-token" usage:"admin bearer token (default: generated into DATA/admin.token)"`
	LogFormat      string                    `yaml:"log_format" flag:"log-format" usage:"json, console, or auto (console on a terminal)"`
	LogLevel       string                    `yaml:"log_level" flag:"log-level" usage:"debug, info, warn or error"`
	PoolMin        int                       `yaml:"pool_min" flag:"pool-min" usage:"warm script runtimes (default GOMAXPROCS)"`
	PoolMax        int                       `yaml:"pool_max" flag:"pool-max" usage:"most script runtimes, i.e. steps in flight: a step keeps one while it waits on a store or the carrier (default 256)"`
	Watch          bool                      `yaml:"watch" flag:"watch" usage:"reload scripts and protocols when they change"`
	Debounce       time.Duration             `yaml:"debounce" flag:"debounce" usage:"quiet time after a change before reloading"`
	SweepEvery     time.Duration             `yaml:"sweep_every" flag:"sweep-every" usage:"how often expired sessions are swept"`
	Retention      time.Duration             `yaml:"expired_retention" flag:"expired-retention" usage:"how long an expired session still answers 410 before it is swept"`
	Session        string                    `yaml:"session" flag:"session" usage:"session table: a redis:// URL shared by every instance (default: embedded, in DATA)"`
	DB             string                    `yaml:"db" flag:"db" usage:"payment store: a postgres:// URL shared by every instance (default: embedded, in DATA)"`
	SessionPrefix  string                    `yaml:"session_prefix" flag:"session-prefix" usage:"key prefix of the session table in Redis"`
	DBSchema       string                    `yaml:"db_schema" flag:"db-schema" usage:"PostgreSQL schema of the payment store"`
	KeyFile        string                    `yaml:"key_file" flag:"key-file" usage:"the server key (merchant-secret and OTP hashes); instances sharing --db must share it (default DATA/server.key)"`
	Mode           string                    `yaml:"mode" flag:"mode" usage:"sandbox (simulated carrier, demo merchant, sandbox endpoints) or live"`
	Carrier        string                    `yaml:"carrier" flag:"carrier" usage:"carrier API base URL (a tuna carrier-sim, say); required in live mode"`
	PublicURL      string                    `yaml:"public_url" flag:"public-url" usage:"the URL merchants and users reach this server at (PAY_URL)"`
	MonthlyLimit   int64                     `yaml:"monthly_limit" flag:"monthly-limit" usage:"KRW per phone number per calendar month (Asia/Seoul)"`
	RecoverEvery   time.Duration             `yaml:"recover_every" flag:"recover-every" usage:"how often unknown charges and cancels are resolved"`
	RecoverAfter   time.Duration             `yaml:"recover_after" flag:"recover-after" usage:"how long a charge or cancel stays unknown before recovery takes it over (at least --carrier-settle)"`
	Settle         time.Duration             `yaml:"carrier_settle" flag:"carrier-settle" usage:"how long a request to --carrier may still be in flight after its call gave up"`
	BenchEndpoints bool                      `yaml:"bench_endpoints" flag:"bench-endpoints" usage:"serve POST /bench/floor and /baseline/* for tuna loadgen (benchmarks only)"`
	Pprof          bool                      `yaml:"pprof" flag:"pprof" usage:"serve Go's profiles at /admin/debug/pprof/ on the admin listener (behind the admin token)"`
	Components     map[string]map[string]any `yaml:"components"`

	// noSync (never set by a flag or a file) skips fsync in the embedded
	// stores and keeps the sandbox carrier's books in memory: the
	// in-process benchmarks measure CPU, not the disk.
	noSync bool
}

func defaultConfig() config {
	return config{
		Listen: "127.0.0.1:8080", AdminListen: "127.0.0.1:8081", Data: "./data",
		Scripts: "./scripts", Protocols: "./protocols", LogFormat: "auto", LogLevel: "info",
		Watch: true, Debounce: 100 * time.Millisecond, SweepEvery: time.Minute, Retention: time.Hour,
		Mode: "sandbox", PublicURL: "http://127.0.0.1:8080", MonthlyLimit: 300_000,
		SessionPrefix: "tuna:", DBSchema: "public",
		RecoverEvery: 30 * time.Second, RecoverAfter: time.Minute, Settle: 5 * time.Second,
	}
}

// loadConfig applies the config file (--config, or TUNA_CONFIG), the
// environment and the flags in args, in that order.
func loadConfig(name string, args []string, env func(string) string) (config, error) {
	cfg := defaultConfig()
	path := env("TUNA_CONFIG")
	if p, ok := configFlag(args); ok {
		path = p
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.String("config", path, "YAML config file (also TUNA_CONFIG)")
	bindFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return cfg, nil
}

func configFlag(args []string) (string, bool) {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			return v, true
		}
		if a == "config" && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

func readConfigFile(path string, cfg *config) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// fields walks the config's flag-tagged fields.
func fields(cfg *config, f func(flagName, usage string, v reflect.Value)) {
	rv := reflect.ValueOf(cfg).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		if name := rt.Field(i).Tag.Get("flag"); name != "" {
			f(name, rt.Field(i).Tag.Get("usage"), rv.Field(i))
		}
	}
}

// applyEnv reads TUNA_<FLAG> for each flag: --admin-listen is TUNA_ADMIN_LISTEN.
func applyEnv(cfg *config, env func(string) string) error {
	var err error
	fields(cfg, func(name, _ string, v reflect.Value) {
		key := "TUNA_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if s := env(key); s != "" && err == nil {
			if e := setValue(v, s); e != nil {
				err = fmt.Errorf("%s: %w", key, e)
			}
		}
	})
	return err
}

func setValue(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case int, int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	}
	return nil
}

func bindFlags(fs *flag.FlagSet, cfg *config) {
	fields(cfg, func(name, usage string, v reflect.Value) {
		switch p := v.Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, usage)
		case *int:
			fs.IntVar(p, name, *p, usage)
		case *int64:
			fs.Int64Var(p, name, *p, usage)
		case *bool:
			fs.BoolVar(p, name, *p, usage)
		case *time.Duration:
			fs.DurationVar(p, name, *p, usage)
		}
	})
}
