// Package sqlite implements attune.Store on SQLite through database/sql
// with a pure-Go driver, so that attune needs nothing but its binary. The
// database runs in WAL mode (readers never wait for the writer) with
// foreign keys on and a busy timeout; every transaction takes the write
// lock when it begins, so two read-modify-write transactions cannot
// deadlock on a lock upgrade. The schema is migrated at Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"attune"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Now is the clock for CreatedAt and UpdatedAt; time.Now when nil.
	Now func() time.Time
	// Logger receives lifecycle messages; discarded when nil.
	Logger *slog.Logger
	// BusyTimeout is how long a statement waits for another connection's
	// write lock before failing; 10 s when zero.
	BusyTimeout time.Duration
	// MaxOpenConns bounds the connection pool; 8 when zero. WAL lets the
	// extra connections read while one writes.
	MaxOpenConns int
}

// Store is the SQLite implementation of attune.Store. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	q   querier // db, or the transaction this Store is bound to
	tx  bool
	now func() time.Time
	log *slog.Logger
}

var _ attune.Store = (*Store)(nil)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 8
	}

	db, err := sql.Open("sqlite", DSN(path, opts.BusyTimeout))
	if err != nil {
		return nil, fmt.Errorf("store: cannot open %s: %w", path, err)
	}
	db.SetMaxOpenConns(opts.MaxOpenConns)
	db.SetMaxIdleConns(opts.MaxOpenConns)
	s := &Store{db: db, q: db, now: opts.Now, log: opts.Logger}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: cannot migrate %s: %w", path, err)
	}
	return s, nil
}

// DSN returns the connection string attune uses for the SQLite file at
// path: WAL, foreign keys, the busy timeout, and transactions that take the
// write lock when they begin. The job queue opens its own database with it.
func DSN(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// InTx runs fn inside one transaction; see attune.Store.
func (s *Store) InTx(ctx context.Context, fn func(attune.Store) error) error {
	if s.tx {
		return fn(s)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: cannot begin: %w", err)
	}
	child := *s
	child.q, child.tx = tx, true
	if err := fn(&child); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: cannot commit: %w", err)
	}
	return nil
}

// inTx is InTx for the package's own methods, with the concrete type.
func (s *Store) inTx(ctx context.Context, fn func(s *Store) error) error {
	return s.InTx(ctx, func(st attune.Store) error { return fn(st.(*Store)) })
}

// stamp returns the store clock's time, in UTC and without its monotonic
// reading, as it will read back.
func (s *Store) stamp() time.Time { return s.now().UTC().Round(0) }

// notFound returns the KindNotFound Error for an unknown record.
func notFound(what, id string) error {
	return attune.Errorf(attune.KindNotFound, "%s %q not found", what, id)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// table describes one table's columns, in the order its args and scan
// functions use, and the statements built from them.
type table struct {
	name   string
	cols   []string
	selCol string // the column list for SELECT
	insert string
	update string // by id
}

func newTable(name string, cols ...string) table {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c + " = ?"
	}
	return table{
		name:   name,
		cols:   cols,
		selCol: strings.Join(cols, ", "),
		insert: fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", name, strings.Join(cols, ", "), marks),
		update: fmt.Sprintf("UPDATE %s SET %s WHERE id = ?", name, strings.Join(sets, ", ")),
	}
}

// selectFrom returns "SELECT cols FROM table " followed by rest.
func (t table) selectFrom(rest string) string {
	return "SELECT " + t.selCol + " FROM " + t.name + " " + rest
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// limitOffset returns the LIMIT/OFFSET clause for p and its args.
func limitOffset(p attune.Page) (string, []any) {
	limit := p.Limit
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	return " LIMIT ? OFFSET ?", []any{limit, max(p.Offset, 0)}
}

// count runs a COUNT(*) query.
func (s *Store) count(ctx context.Context, query string, args ...any) (int, error) {
	var n int
	if err := s.q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: cannot count: %w", err)
	}
	return n, nil
}
