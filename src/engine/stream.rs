//! Bridging blocking writers (tar and archive builders) to the byte streams
//! the engine API consumes.

use bytes::Bytes;
use futures_util::Stream;

/// Run a blocking writer (a tar or archive builder) on a worker thread and
/// expose what it writes as a byte stream, so large archives go to the engine
/// without being held in memory or written to disk.
pub fn stream_from_writer<F>(
    write: F,
) -> (
    impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    tokio::task::JoinHandle<std::io::Result<()>>,
)
where
    F: FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'static,
{
    struct ChannelWriter(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>);
    impl std::io::Write for ChannelWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .blocking_send(Ok(Bytes::copy_from_slice(buf)))
                .map_err(|_| std::io::Error::other("the engine stopped reading"))?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let handle = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, ChannelWriter(tx.clone()));
        let result = write(&mut out).and_then(|()| std::io::Write::flush(&mut out));
        if let Err(e) = &result {
            let _ = tx.blocking_send(Err(std::io::Error::new(e.kind(), e.to_string())));
        }
        result
    });
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (stream, handle)
}
