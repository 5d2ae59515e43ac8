"""The headless command line: the same pipeline and analyses as the app, for
scripts and servers. Commands that need Qt (the GUI, figure export) are handed
in by ``main.py``, so a command that needs no Qt never imports it."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from core.encoder import AUTO_BATCH, DEFAULT_MODEL
from core.figure_size import FigureSize, figure_size

if TYPE_CHECKING:
    from core.pipeline import EmbedOutcome

Handler = Callable[[argparse.Namespace], int]


class TerminalProgress:
    """A one-line progress bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, message: str) -> None:
        if total > 0:
            width = 30
            filled = int(width * done / total)
            bar = "█" * filled + "·" * (width - filled)
            line = f"\r[{bar}] {message}"
        else:
            line = f"\r{message}"
        self.stream.write(line[:160].ljust(100))
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; it must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="embedding-explorer",
        description="Explore text embeddings: maps, neighbours, hubness and anisotropy. "
        "Without a command, the desktop app starts.",
    )
    parser.add_argument("--workspace", help="workspace file to open (GUI)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedding model name or folder (default: bundled %(default)s)")
    parser.add_argument("--smoke-test", action="store_true", help="start the GUI offscreen on the demo workspace, wait until idle, exit 0")
    parser.add_argument("--no-demo", action="store_true", help="do not import the demo corpus into an empty workspace")
    sub = parser.add_subparsers(dest="command")

    ingest = sub.add_parser("ingest", help="import files/folders into a workspace and embed them")
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--workspace", required=True)
    ingest.add_argument("--model", default=DEFAULT_MODEL)
    ingest.add_argument("--collection", help="name of the new collection (default: file or folder name)")
    ingest.add_argument("--text-column", help="column/field holding the text (default: auto-detected)")
    ingest.add_argument("--txt-mode", choices=("lines", "file"), default="lines", help=".txt: one document per line or per file")
    ingest.add_argument("--no-embed", action="store_true", help="only import, embed later")
    ingest.add_argument("--adopt-database", action="store_true",
                        help="--workspace is a DuckDB database of your own: add the workspace's tables beside its "
                             "tables (a backup copy is written first)")

    analyze = sub.add_parser("analyze", help="hubness, anisotropy and intrinsic dimension as JSON")
    analyze.add_argument("--workspace", required=True)
    analyze.add_argument("--collection", help="collection name (default: all)")
    analyze.add_argument("--model", default=None, help="embedding model (default: the first with vectors)")
    analyze.add_argument("-k", type=positive_int, default=10)
    analyze.add_argument("--json", action="store_true", help="print JSON (the default output)")

    clusters = sub.add_parser("clusters", help="clusters of the map with keywords and per-cluster geometry as JSON")
    clusters.add_argument("--workspace", required=True)
    clusters.add_argument("--collection", help="collection name (default: all)")
    clusters.add_argument("--model", default=None, help="embedding model (default: the first with vectors)")
    clusters.add_argument("--json", action="store_true", help="print JSON (the default output)")

    neighbors = sub.add_parser("neighbors", help="nearest documents to a query text")
    neighbors.add_argument("--workspace", required=True)
    neighbors.add_argument("--collection")
    neighbors.add_argument("--model", default=None)
    neighbors.add_argument("--query", required=True)
    neighbors.add_argument("-k", type=positive_int, default=10)
    neighbors.add_argument("--json", action="store_true")

    embed = sub.add_parser("embed", help="embed what is not yet embedded (resumable), e.g. on a GPU server")
    embed.add_argument("--workspace", required=True)
    embed.add_argument("--collection", help="collection name (default: all)")
    embed.add_argument("--model", default=DEFAULT_MODEL)
    embed.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                       help="auto: CUDA, then Apple MPS, then CPU; CUDA runs in fp16")
    embed.add_argument("--batch-size", type=int, default=AUTO_BATCH,
                       help="texts per model call and device (default 0: auto, 32 on a CPU, 512 on CUDA)")
    embed.add_argument("--devices", help="several devices, one process each, e.g. cuda:0,cuda:1 "
                                         "(default: every GPU when there are several); local engine")
    embed.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="ray: Ray Data actors, one model each (needs: pip install .[distributed])")
    embed.add_argument("--address", help="Ray cluster to join (default: a local one); --engine ray")
    embed.add_argument("--workers", type=int, help="Ray actors (default: one per GPU, else one per 4 CPUs); --engine ray")

    sub.add_parser("install-desktop", help="add Embedding Explorer to the desktop's application menu (Linux)")

    export = sub.add_parser("export-plot", help="render the map of a collection to PNG, SVG or PDF")
    export.add_argument("--workspace", required=True)
    export.add_argument("--collection")
    export.add_argument("--model", default=None)
    export.add_argument("--out", required=True, help="output file: .png, .svg or .pdf")
    export.add_argument("--color-by", default="collection")
    export.add_argument("--size", default="double", type=_figure_size,
                        help="single (3.5 in), double (7.2 in), slide (13.33 x 7.5 in) or a width in inches")
    export.add_argument("--dpi", type=int, default=300, help="pixels per inch of a PNG; resolution of a PDF")
    export.add_argument("--legend", action=argparse.BooleanOptionalAction, default=True,
                        help="include the colour legend or colour bar (default: yes)")
    export.add_argument("--title")

    figure = sub.add_parser("export-figure", help="render any view's figure (hubness, anisotropy…) to PNG, SVG or PDF")
    figure.add_argument("--workspace", required=True)
    figure.add_argument("--view", required=True, help="the view's id: map, hubness, anisotropy, robustness, languages…")
    figure.add_argument("--collection")
    figure.add_argument("--model", default=None)
    figure.add_argument("--out", required=True, help="output file: .png, .svg or .pdf")
    figure.add_argument("--size", default="double", type=_figure_size,
                        help="single (3.5 in), double (7.2 in), slide (13.33 x 7.5 in) or a width in inches")
    figure.add_argument("--dpi", type=int, default=300)
    figure.add_argument("--title")

    html_map = sub.add_parser("export-html", help="write the map as one interactive HTML file that opens in any browser, offline")
    html_map.add_argument("--workspace", required=True)
    html_map.add_argument("--collection")
    html_map.add_argument("--model", default=None)
    html_map.add_argument("--out", required=True, help="output .html file")
    html_map.add_argument("--color-by", default="collection")
    html_map.add_argument("--title")

    robust = sub.add_parser("robustness", help="how truncating or quantising the vectors changes each document's neighbours (JSON)")
    robust.add_argument("--workspace", required=True)
    robust.add_argument("--collection")
    robust.add_argument("--model", default=None)
    robust.add_argument("-k", type=positive_int, default=10)
    robust.add_argument("--dims", type=_int_list, default=(256, 128, 64, 32), help="truncation ladder, e.g. 256,128,64")
    robust.add_argument("--quant", type=_name_list, default=("int8", "binary"), help="int8, binary, or both (comma-separated)")
    robust.add_argument("--sample", type=positive_int, default=5_000, help="documents evaluated (a seeded sample above this)")
    robust.add_argument("--json", action="store_true", help="print JSON (the default output)")

    langs = sub.add_parser("languages", help="how much of the space encodes language, and what removing it changes (JSON)")
    langs.add_argument("--workspace", required=True)
    langs.add_argument("--collection")
    langs.add_argument("--model", default=None)
    langs.add_argument("--column", default="", help="column holding each document's language (default: language, lang…)")
    langs.add_argument("--pair-column", default="", help="column whose equal values mark translations of one text")
    langs.add_argument("--correction", choices=("centroids", "subspace"), default="centroids")
    langs.add_argument("--json", action="store_true", help="print JSON (the default output)")

    layers = sub.add_parser("layers", help="the geometry of every layer of the model, over a sample of the documents (JSON)")
    layers.add_argument("--workspace", required=True)
    layers.add_argument("--collection")
    layers.add_argument("--model", default=None, help="the embedding set's model (default: the first with vectors)")
    layers.add_argument("--sample", type=positive_int, default=2_000, help="documents embedded from every layer")
    layers.add_argument("-k", type=positive_int, default=10)
    layers.add_argument("--json", action="store_true", help="print JSON (the default output)")

    compare = sub.add_parser("compare", help="compare two embedding sets of the same documents (CKA, kNN overlap) as JSON")
    compare.add_argument("--workspace", required=True)
    compare.add_argument("--a", default=None, help="model name of the first set (default: the first with vectors)")
    compare.add_argument("--b", required=True, help="model name of the second set")
    compare.add_argument("-k", type=positive_int, default=10)
    compare.add_argument("--collection", help="collection name (default: all)")
    compare.add_argument("--json", action="store_true", help="print JSON (the default output)")

    vectors_in = sub.add_parser("import-vectors", help="import your own vectors (.parquet, .jsonl, or .npy beside a .txt)")
    vectors_in.add_argument("path")
    vectors_in.add_argument("--workspace", required=True)
    vectors_in.add_argument("--model", required=True, help="name for the imported embedding model")
    vectors_in.add_argument("--collection", help="collection to create, or an existing one to match by text")
    vectors_in.add_argument("--text-column", help="column holding the text (default: text, document, content…)")
    vectors_in.add_argument("--vector-column", help="column holding the vectors (default: vector, embedding…)")

    vectors_out = sub.add_parser("export-set", help="write an embedding set (texts, metadata, vectors) to Parquet")
    vectors_out.add_argument("--workspace", required=True)
    vectors_out.add_argument("--model", required=True)
    vectors_out.add_argument("--collection", help="collection name (default: all)")
    vectors_out.add_argument("--out", required=True, help="output .parquet file")

    collection_out = sub.add_parser("export-collection",
                                    help="write a collection with its embedding sets to one Parquet file (for another workspace)")
    collection_out.add_argument("--workspace", required=True)
    collection_out.add_argument("--collection", required=True)
    collection_out.add_argument("--out", required=True, help="output .parquet file")
    collection_out.add_argument("--model", action="append", help="only this model's vectors (repeatable; default: all)")

    collection_in = sub.add_parser("import-collection", help="add a collection written by export-collection to a workspace")
    collection_in.add_argument("path")
    collection_in.add_argument("--workspace", required=True)
    return parser


def launcher_files(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[int]:
    """Positions in ``argv`` of the files a launcher passed as plain arguments (``Exec=… %F``),
    for the GUI to import: existing paths given without a command. An option's value (the
    workspace after ``--workspace``) is never one of them."""
    takes_value = {flag for action in parser._actions if action.option_strings and action.nargs != 0
                   for flag in action.option_strings}
    commands = {name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
                for name in action.choices}
    files: list[int] = []
    value_next = False
    for i, arg in enumerate(argv):
        if value_next:
            value_next = False
        elif arg.startswith("-"):
            value_next = arg in takes_value
        elif arg in commands and not files:
            return []
        elif Path(arg).exists():
            files.append(i)
        else:
            break  # argparse says what is wrong with it
    return files


def main(argv: Sequence[str], qt_handlers: dict[str, Handler] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code."""
    parser = build_parser()
    argv = list(argv)
    files = launcher_files(parser, argv)
    args = parser.parse_args([a for i, a in enumerate(argv) if i not in files])
    args.files = [argv[i] for i in files]
    handlers: dict[str, Handler] = {
        "ingest": cmd_ingest, "embed": cmd_embed, "analyze": cmd_analyze, "clusters": cmd_clusters, "neighbors": cmd_neighbors, "install-desktop": cmd_install_desktop,
        "compare": cmd_compare, "import-vectors": cmd_import_vectors, "export-set": cmd_export_set,
        "export-collection": cmd_export_collection, "import-collection": cmd_import_collection,
        "export-html": cmd_export_html, "robustness": cmd_robustness, "languages": cmd_languages, "layers": cmd_layers,
    }
    handlers.update(qt_handlers or {})
    command = args.command or "gui"
    if command not in handlers:
        print(f"'{command}' needs the desktop components, which are not available here.", file=sys.stderr)
        return 2
    from core.workspace_file import WorkspaceError, WorkspaceLockedError, WorkspaceReadOnlyError
    from core.encoder import EncoderError
    from core.ray_engine import RayEngineError
    from core.vector_io import VectorFileError

    try:
        return handlers[command](args)
    except (WorkspaceError, EncoderError, LookupError, VectorFileError, RayEngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, (WorkspaceLockedError, WorkspaceReadOnlyError)):  # the app's copy button is not here
            where = args.workspace or "the workspace file"
            print(f"On the command line, make the copy yourself: copy {where} (and its .wal file, if there is one) "
                  "to another folder and pass the copy to --workspace.", file=sys.stderr)
        return 1


def cmd_ingest(args: argparse.Namespace) -> int:
    from core.encoder import load_encoder
    from core.ingest import IngestOptions
    from core.pipeline import import_paths
    from core.progress import Progress
    from core.store import Store

    bar = TerminalProgress()
    store = Store.open(args.workspace, adopt=args.adopt_database)
    try:
        options = IngestOptions(txt_mode=args.txt_mode, text_column=args.text_column)
        outcome = import_paths(store, args.paths, options, Progress(bar), args.collection)
        bar.finish()
        for issue in outcome.report.issues:
            print(f"{issue.severity}: {issue.message}", file=sys.stderr)  # the message names the file and line
        print(outcome.report.summary())
        if outcome.reused_ids:
            print(f"{len(outcome.reused_ids)} item(s) were already in the workspace; reused.")
        if not outcome.all_ids:
            return 1
        if not args.no_embed:
            _embed_and_report(store, load_encoder(args.model), outcome.all_ids, bar)
    finally:
        store.close()
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    from core.encoder import all_gpus, load_encoder
    from core.store import Store

    if args.engine != "ray" and (args.address or args.workers):
        build_parser().error("--address and --workers need --engine ray")
    if args.engine == "ray" and args.devices:
        build_parser().error("--devices is for the local engine; Ray places one model per GPU itself")
    store = Store.open(args.workspace)
    try:
        collections = [c for c in store.collections() if args.collection in (None, c.name)]
        for half in (c for c in collections if c.status != "ready"):
            print(f"note: collection {half.name!r} was not completely imported; rerun its ingest to finish it "
                  "(it is not embedded now).", file=sys.stderr)
        collections = [c for c in collections if c.status == "ready"]
        if not collections:
            raise LookupError(f"no collection named {args.collection!r}" if args.collection else "the workspace is empty")
        ids = [c.id for c in collections]
        if args.engine == "ray":
            _embed_on_ray(store, args, ids)
        else:
            devices = tuple(d.strip() for d in args.devices.split(",") if d.strip()) if args.devices else all_gpus(args.device)
            encoder = load_encoder(args.model, device=args.device, devices=devices)
            try:
                _embed_and_report(store, encoder, ids, TerminalProgress(), args.batch_size)
            finally:
                if hasattr(encoder, "close"):
                    encoder.close()
    finally:
        store.close()
    return 0


def _embed_and_report(store, encoder, collection_ids: Sequence[int], bar: TerminalProgress,
                      batch_size: int = AUTO_BATCH) -> None:
    """Embed what is missing with a progress bar, then print the throughput summary."""
    from core.pipeline import embed_pending
    from core.progress import Progress

    result = embed_pending(store, encoder, collection_ids, Progress(bar), batch_size=batch_size)
    bar.finish()
    _print_summary(result)


def _print_summary(result: EmbedOutcome) -> None:
    print(f"Embedded {result.embedded:,} texts in {result.seconds:.1f} s ({result.rate:.1f}/s); "
          f"{result.truncated:,} truncated at the model's length limit.")


def _embed_on_ray(store, args: argparse.Namespace, collection_ids: Sequence[int]) -> None:
    """``embed --engine ray``: the same summary, plus where the shards' time went."""
    from core.progress import Progress
    from core.ray_engine import embed_with_ray

    bar = TerminalProgress()
    result = embed_with_ray(store, args.model, collection_ids, Progress(bar), device=args.device,
                            batch_size=args.batch_size, workers=args.workers, address=args.address)
    bar.finish()
    _print_summary(result)
    resumed = f"; {result.resumed:,} vectors loaded from an interrupted run's shards" if result.resumed else ""
    print(f"Ray: {result.workers} worker(s), {result.gpus_per_worker:g} GPU each; {result.shards} Parquet shard(s) "
          f"written and read back in {result.parquet_s:.1f} s, stored in {result.store_s:.1f} s{resumed}.")


def cmd_analyze(args: argparse.Namespace) -> int:
    from commands.headless import analyze_workspace

    print(json.dumps(analyze_workspace(args.workspace, args.collection, args.model, args.k), indent=2))
    return 0


def cmd_clusters(args: argparse.Namespace) -> int:
    from commands.headless import clusters_report

    print(json.dumps(clusters_report(args.workspace, args.collection, args.model), indent=2, ensure_ascii=False))
    return 0


def cmd_neighbors(args: argparse.Namespace) -> int:
    from commands.headless import neighbours_of_query

    hits = neighbours_of_query(args.workspace, args.query, args.collection, args.model, args.k)
    if args.json:
        print(json.dumps(hits, indent=2, ensure_ascii=False))
    else:
        for hit in hits:
            print(f"{hit['rank']:>3}  {hit['similarity']:.3f}  [{hit['collection']}]  {hit['text'][:120]}")
    return 0


def _figure_size(text: str) -> FigureSize:
    try:
        return figure_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(positive_int(part) for part in text.split(",") if part.strip())


def _name_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _print_report(measure: Callable[[], dict]) -> int:
    """Print ``measure()`` as JSON; a ValueError (parameters the data cannot take) is the error message."""
    try:
        report = measure()
    except ValueError as exc:  # e.g. an unknown quantisation, k not below the number of documents
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def cmd_robustness(args: argparse.Namespace) -> int:
    from commands.headless import robustness_report

    return _print_report(lambda: robustness_report(args.workspace, args.collection, args.model, args.k, args.dims,
                                                   args.quant, args.sample))


def cmd_languages(args: argparse.Namespace) -> int:
    from commands.headless import languages_report

    return _print_report(lambda: languages_report(args.workspace, args.collection, args.model, args.column,
                                                  args.pair_column, args.correction))


def cmd_layers(args: argparse.Namespace) -> int:
    from commands.headless import layers_report

    return _print_report(lambda: layers_report(args.workspace, args.collection, args.model, args.sample, args.k))


def cmd_export_html(args: argparse.Namespace) -> int:
    from commands.headless import export_html, load_view

    path = export_html(load_view(args.workspace, args.collection, args.model), args.out, args.color_by, args.title)
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB): open it in any web browser")
    return 0


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from core.desktop_entry import install_desktop_entry

    print(f"Installed {install_desktop_entry()}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from commands.headless import compare_workspace

    print(json.dumps(compare_workspace(args.workspace, args.a, args.b, args.k, args.collection), indent=2))
    return 0


def _collection_ids(store, name: str | None) -> list[int]:
    """Ids of collection ``name`` (all when None); LookupError naming what exists."""
    collections = store.collections()
    picked = [c.id for c in collections if name is None or c.name == name]
    if not picked:
        raise LookupError(f"no collection named {name!r} (collections: {', '.join(c.name for c in collections) or 'none'})")
    return picked


def cmd_import_vectors(args: argparse.Namespace) -> int:
    from core.store import Store
    from core.vector_io import import_vectors

    store = Store.open(args.workspace)
    try:
        done = import_vectors(store, args.path, args.model, args.collection, args.text_column, args.vector_column)
        name = store.collection(done.collection_id).name
    finally:
        store.close()
    print(f"Imported {done.rows:,} vectors ({done.dim}-d) as model '{args.model}' into collection '{name}': "
          f"{done.added:,} documents added, {done.matched:,} matched to existing ones.")
    return 0


def cmd_export_set(args: argparse.Namespace) -> int:
    from core.store import Store
    from core.vector_io import export_set

    store = Store.open(args.workspace, read_only=True)
    try:
        model = next((m for m in store.models() if m.name == args.model), None)
        if model is None:
            raise LookupError(f"no model named {args.model!r} (models: {', '.join(m.name for m in store.models()) or 'none'})")
        rows = export_set(store, _collection_ids(store, args.collection), model.id, args.out)
    finally:
        store.close()
    print(f"Wrote {rows:,} rows to {args.out}")
    return 0


def cmd_export_collection(args: argparse.Namespace) -> int:
    from core.interchange import export_collection
    from core.store import Store

    store = Store.open(args.workspace, read_only=True)
    try:
        done = export_collection(store, _collection_ids(store, args.collection)[0], args.out, args.model)
    finally:
        store.close()
    print(f"Wrote {done.rows:,} documents with vectors of {', '.join(done.models) or 'no model'} to {args.out}")
    return 0


def cmd_import_collection(args: argparse.Namespace) -> int:
    from core.interchange import import_collection
    from core.store import Store

    store = Store.open(args.workspace)
    try:
        done = import_collection(store, args.path)
        name = store.collection(done.collection_id).name
    finally:
        store.close()
    sets = ", ".join(f"{n:,} embedded with {model}" for model, n in done.embedded)
    print(f"Imported collection '{name}': {done.documents:,} documents; {sets or 'no vectors'}.")
    return 0
