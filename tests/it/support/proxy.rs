//! A TCP proxy on loopback that a test can cut: the database "goes away" for the app under
//! test while the shared PostgreSQL server keeps running for every other test.
//!
//! Cut, it closes the connections it carries and takes new ones without ever answering (as a
//! host that vanished from the network does), so the app's driver waits for its own timeouts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Proxy {
    pub address: SocketAddr,
    cut: Arc<AtomicBool>,
    carried: Arc<Mutex<Vec<AbortHandle>>>,
    accepting: AbortHandle,
}

impl Proxy {
    /// Forwards every connection to `target` until [`Proxy::cut`].
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let carried: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let accepting = {
            let (cut, carried) = (cut.clone(), carried.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    let cut = cut.clone();
                    let task = tokio::spawn(async move {
                        if cut.load(Ordering::SeqCst) {
                            // hold the connection open and say nothing
                            std::future::pending::<()>().await;
                        }
                        if let Ok(mut server) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    carried.lock().unwrap().push(task.abort_handle());
                }
            })
            .abort_handle()
        };
        Proxy {
            address,
            cut,
            carried,
            accepting,
        }
    }

    /// The database is gone: open connections are closed, new ones hang.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for task in self.carried.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The database is back for new connections.
    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
        for task in self.carried.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        for task in self.carried.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}
