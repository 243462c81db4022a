package io.distributedsqlite.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder on a loopback port to one node, for network partitions without root: nodes
 * whose PEERS entry names the proxy's port reach that node through it. {@link #cut()} closes every
 * connection through it and closes each new one at once (peers see resets, as across a broken
 * link); {@link #heal()} forwards again. {@link #stall()} keeps connections open but holds
 * every byte until {@link #resume()}, as a congested link or a paused peer would, so requests
 * arrive late and in one piece. Plain threads; the test JVM owns it and closes it.
 */
public final class TcpProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int targetPort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean cut;
  private final Object stallLock = new Object();
  private boolean stalled;
  private volatile boolean closed;

  public TcpProxy(int listenPort, int targetPort) {
    this.targetPort = targetPort;
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress("127.0.0.1", listenPort));
    } catch (IOException e) {
      throw new IllegalStateException("cannot listen on " + listenPort + ": " + e.getMessage(), e);
    }
    Thread acceptor = new Thread(this::acceptLoop, "proxy-" + listenPort + "-to-" + targetPort);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Breaks the link: open connections are closed, new ones closed as soon as they are accepted. */
  public void cut() {
    cut = true;
    closeAll();
  }

  public void heal() {
    cut = false;
  }

  /** Holds every byte in both directions, connections kept open, until {@link #resume()}. */
  public void stall() {
    synchronized (stallLock) {
      stalled = true;
    }
  }

  /** Forwards what was held, in order, and everything after it. */
  public void resume() {
    synchronized (stallLock) {
      stalled = false;
      stallLock.notifyAll();
    }
  }

  private void awaitNotStalled() throws IOException {
    synchronized (stallLock) {
      while (stalled && !closed) {
        try {
          stallLock.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while stalled", e);
        }
      }
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket in;
      try {
        in = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      if (cut) {
        quietly(in);
        continue;
      }
      try {
        Socket out = new Socket();
        out.connect(new InetSocketAddress("127.0.0.1", targetPort), 2000);
        in.setTcpNoDelay(true);
        out.setTcpNoDelay(true);
        open.add(in);
        open.add(out);
        pump(in, out);
        pump(out, in);
      } catch (IOException e) {
        quietly(in); // the node is down: the caller sees the connection closed
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[16 * 1024];
      try (InputStream is = from.getInputStream(); OutputStream os = to.getOutputStream()) {
        int n;
        while ((n = is.read(buf)) >= 0) {
          awaitNotStalled();
          if (cut) {
            break;
          }
          os.write(buf, 0, n);
          os.flush();
        }
      } catch (IOException ignored) {
        // the other side went away, or the link was cut
      } finally {
        quietly(from);
        quietly(to);
      }
    }, "proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void closeAll() {
    for (Socket s : open) {
      quietly(s);
    }
  }

  private void quietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() {
    closed = true;
    resume();
    closeAll();
    try {
      server.close();
    } catch (IOException ignored) {
      // already closed
    }
  }
}
