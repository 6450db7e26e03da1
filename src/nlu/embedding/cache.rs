//! An on-disk cache of sentence embeddings, so a restart (or a second `eval` run) does not
//! embed the catalogue's examples, or a benchmark's thousands of texts, again.
//!
//! One file per model, named by the model's fingerprint (the sha256 of its weights): a new
//! or changed model can never be served vectors of another. The file is append-only records
//! `[u32 text length][text][u32 dimension][dimension × f32]`, little-endian; a torn record at
//! the end (a crash while appending) is ignored and overwritten, so the cache never needs
//! repair by hand. Texts are kept as given: catalogue examples and benchmark texts, never
//! employees' questions (the server embeds those live and does not cache them).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::{Embedder, EmbeddingError};

/// Texts embedded per forward pass when filling the cache.
const BATCH: usize = 64;

/// Longest text a record may hold; anything longer in a file means the file is not ours.
const MAX_TEXT_BYTES: u32 = 1 << 20;

/// Embeddings by text for one model, loaded from and appended to its cache file.
pub struct EmbeddingCache {
    embedder: Arc<dyn Embedder>,
    path: Option<PathBuf>,
    vectors: HashMap<String, Vec<f32>>,
}

/// What [`EmbeddingCache::embed_all`] did, for the start-up log and `check`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CacheReport {
    pub texts: usize,
    /// Texts that had to be embedded (not in the cache).
    pub embedded: usize,
    pub seconds: f64,
}

impl EmbeddingCache {
    /// Opens the cache for `embedder` in `dir` (created when missing); `None` keeps it in
    /// memory only. An unreadable cache file is reported and started afresh, and a folder
    /// that cannot be written (a read-only container file system without a volume) turns
    /// the cache into a memory-only one with a warning: never fatal, the cache only saves
    /// time.
    pub fn open(embedder: Arc<dyn Embedder>, dir: Option<&Path>) -> EmbeddingCache {
        let path = dir.map(|dir| dir.join(format!("{}.bin", embedder.fingerprint())));
        let mut cache = EmbeddingCache {
            embedder,
            path,
            vectors: HashMap::new(),
        };
        if let Some(path) = cache.path.clone() {
            match cache.load(&path) {
                Ok(()) => {}
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err,
                        "the embedding cache could not be read; starting it afresh");
                    cache.vectors.clear();
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        cache
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The embedding of every text, in order: cached ones read, the rest embedded in batches
    /// and appended to the file. Blocking (runs the model): not for the async runtime.
    pub fn embed_all(
        &mut self,
        texts: &[&str],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(Vec<Vec<f32>>, CacheReport), EmbeddingError> {
        let started = Instant::now();
        let mut missing: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| !self.vectors.contains_key(*t))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        // similar lengths in one batch waste less padding
        missing.sort_by_key(|t| t.len());
        let mut file = match self.path.clone() {
            Some(path) if !missing.is_empty() => match self.appender(&path) {
                Ok(file) => Some(file),
                Err(err) => {
                    self.stop_writing(&err);
                    None
                }
            },
            _ => None,
        };
        let mut done = 0;
        let mut records = Vec::new();
        for chunk in missing.chunks(BATCH) {
            let vectors = self.embedder.embed_batch(chunk)?;
            records.clear();
            for (text, vector) in chunk.iter().zip(vectors) {
                write_record(&mut records, text, &vector);
                self.vectors.insert((*text).to_string(), vector);
            }
            // One append per batch: processes sharing the cache (tests, a CLI beside the
            // server) never interleave inside a record.
            if let Some(Err(source)) = file.as_mut().map(|file| file.write_all(&records)) {
                let err = EmbeddingError::Cache {
                    path: self.path.clone().unwrap_or_default(),
                    source,
                };
                self.stop_writing(&err);
                file = None;
            }
            done += chunk.len();
            progress(done, missing.len());
        }
        let vectors = texts.iter().map(|t| self.vectors[*t].clone()).collect();
        Ok((
            vectors,
            CacheReport {
                texts: texts.len(),
                embedded: missing.len(),
                seconds: started.elapsed().as_secs_f64(),
            },
        ))
    }

    /// Keeps the cache in memory from now on: the embeddings are still computed and used, a
    /// restart computes them again.
    fn stop_writing(&mut self, err: &EmbeddingError) {
        tracing::warn!(error = %err,
            "the embedding cache cannot be written; keeping it in memory only, so a restart \
             embeds the catalogue again. Give classifier.embedding_cache a writable folder \
             (in a container: a volume at /data)");
        self.path = None;
    }

    fn appender(&self, path: &Path) -> Result<File, EmbeddingError> {
        let cache_error = |source| EmbeddingError::Cache {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(cache_error)?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(cache_error)
    }

    /// Reads every whole record; cuts a torn last record off the file.
    fn load(&mut self, path: &Path) -> std::io::Result<()> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let length = file.metadata()?.len();
        let mut reader = BufReader::new(file);
        let dimension = self.embedder.dimension();
        let mut good = 0u64;
        loop {
            match read_record(&mut reader, dimension) {
                Ok(Some((text, vector, bytes))) => {
                    self.vectors.insert(text, vector);
                    good += bytes;
                }
                Ok(None) => break,
                Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(err) => return Err(err),
            }
        }
        drop(reader);
        if good < length {
            tracing::warn!(path = %path.display(), kept = good, length,
                "the embedding cache ended in a torn record; cut it off");
            // a file that cannot be cut cannot be appended to either (read-only)
            if let Err(err) = OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|file| file.set_len(good))
            {
                self.stop_writing(&EmbeddingError::Cache {
                    path: path.to_path_buf(),
                    source: err,
                });
            }
        }
        Ok(())
    }
}

fn write_record(out: &mut Vec<u8>, text: &str, vector: &[f32]) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&(vector.len() as u32).to_le_bytes());
    for value in vector {
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// One record and its size in bytes; `None` at a clean end of file.
fn read_record(
    reader: &mut impl Read,
    dimension: usize,
) -> std::io::Result<Option<(String, Vec<f32>, u64)>> {
    let mut word = [0u8; 4];
    match reader.read(&mut word[..1])? {
        0 => return Ok(None),
        _ => reader.read_exact(&mut word[1..])?,
    }
    let text_len = u32::from_le_bytes(word);
    if text_len > MAX_TEXT_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a record claims a text of {text_len} bytes"),
        ));
    }
    let mut text = vec![0u8; text_len as usize];
    reader.read_exact(&mut text)?;
    let text = String::from_utf8(text)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "text is not UTF-8"))?;
    reader.read_exact(&mut word)?;
    let stored = u32::from_le_bytes(word) as usize;
    if stored != dimension {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a record has {stored} dimensions, the model {dimension}"),
        ));
    }
    let mut bytes = vec![0u8; 4 * dimension];
    reader.read_exact(&mut bytes)?;
    let vector = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Some((
        text,
        vector,
        8 + u64::from(text_len) + 4 * dimension as u64,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts what it embeds; the vector is the text's bytes summed per position mod 4.
    struct CountingEmbedder {
        calls: AtomicUsize,
    }

    impl Embedder for CountingEmbedder {
        fn dimension(&self) -> usize {
            4
        }
        fn fingerprint(&self) -> &str {
            "test-model"
        }
        fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
            self.calls.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts
                .iter()
                .map(|t| {
                    let mut v = vec![0.0; 4];
                    for (i, b) in t.bytes().enumerate() {
                        v[i % 4] += f32::from(b);
                    }
                    v
                })
                .collect())
        }
    }

    #[test]
    fn a_second_open_embeds_nothing_and_a_torn_record_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let embedder = Arc::new(CountingEmbedder {
            calls: AtomicUsize::new(0),
        });
        let texts = [
            "hoe vraag ik verlof aan",
            "who knows Power BI?",
            "hoe vraag ik verlof aan",
        ];
        let mut first = EmbeddingCache::open(embedder.clone(), Some(dir.path()));
        let (vectors, report) = first.embed_all(&texts, &mut |_, _| {}).unwrap();
        assert_eq!(report.embedded, 2, "the repeated text is embedded once");
        assert_eq!(vectors[0], vectors[2]);
        assert_eq!(embedder.calls.load(Ordering::SeqCst), 2);

        let mut second = EmbeddingCache::open(embedder.clone(), Some(dir.path()));
        let (again, report) = second.embed_all(&texts, &mut |_, _| {}).unwrap();
        assert_eq!(report.embedded, 0);
        assert_eq!(again, vectors);
        assert_eq!(
            embedder.calls.load(Ordering::SeqCst),
            2,
            "nothing re-embedded"
        );

        // a crash mid-append leaves half a record: it is dropped, the rest kept
        let path = dir.path().join("test-model.bin");
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[7, 0, 0, 0, b'h', b'a']).unwrap();
        drop(file);
        let mut third = EmbeddingCache::open(embedder.clone(), Some(dir.path()));
        assert_eq!(third.len(), 2);
        let (_, report) = third.embed_all(&["nieuw"], &mut |_, _| {}).unwrap();
        assert_eq!(report.embedded, 1);
        let fourth = EmbeddingCache::open(embedder, Some(dir.path()));
        assert_eq!(fourth.len(), 3, "the new record follows the cut, readable");
    }

    /// A read-only container without a volume for the cache: the server must still start.
    #[test]
    fn a_folder_that_cannot_be_written_keeps_the_cache_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        // a regular file where the folder should be: creating the folder fails (also as root)
        let blocked = dir.path().join("not-a-folder");
        std::fs::write(&blocked, b"").unwrap();
        let embedder = Arc::new(CountingEmbedder {
            calls: AtomicUsize::new(0),
        });
        let mut cache = EmbeddingCache::open(embedder.clone(), Some(&blocked.join("embeddings")));
        let (vectors, report) = cache
            .embed_all(
                &["hoe vraag ik verlof aan", "who knows Power BI?"],
                &mut |_, _| {},
            )
            .expect("embedding works without a writable cache");
        assert_eq!((vectors.len(), report.embedded), (2, 2));
        let (_, report) = cache
            .embed_all(&["who knows Power BI?"], &mut |_, _| {})
            .unwrap();
        assert_eq!(report.embedded, 0, "still cached in memory");
        assert_eq!(embedder.calls.load(Ordering::SeqCst), 2);
    }
}
