package io.distributedsqlite.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The peers of a node that runs as a StatefulSet pod: peer {@code i} is
 * {@code <set>-<i>.<headless>.<namespace>.svc.<domain>}. Each part is taken, in this order, from
 * its variable (STATEFULSET_NAME, HEADLESS_SERVICE, POD_NAMESPACE, CLUSTER_DOMAIN), from the pod's
 * own DNS name (Kubernetes writes {@code <pod>.<headless>.<namespace>.svc.<domain>} into the pod's
 * /etc/hosts), from NODE_ID ({@code <set>-<ordinal>}: the pod name, so the set's name), and
 * finally from the defaults {@code distributed-sqlite}, {@code distributed-sqlite-headless},
 * {@code default} and {@code cluster.local}. So a pod of any StatefulSet whose NODE_ID is its pod
 * name finds its peers without further settings, the original's
 * ({@code distributed-sqlite-nodes} behind {@code distributed-sqlite-headless}) included.
 */
public record StatefulSetPeers(String set, String headless, String namespace, String domain) {

  public static final String DEFAULT_SET = "distributed-sqlite";
  public static final String DEFAULT_HEADLESS = "distributed-sqlite-headless";
  private static final Pattern POD_NAME = Pattern.compile("(.+)-\\d{1,6}");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");

  /**
   * Resolves the four parts. {@code ownDnsName} is the pod's fully qualified name, when known;
   * only a name of the form {@code <pod>.<service>.<namespace>.svc.<domain>} is used.
   */
  public static StatefulSetPeers resolve(Map<String, String> env, Optional<String> ownDnsName) {
    Optional<String[]> own = ownDnsName.map(String::trim).map(n -> n.endsWith(".") ? n.substring(0, n.length() - 1) : n)
        .map(n -> n.split("\\.", 5))
        .filter(p -> p.length == 5 && p[3].equals("svc") && !p[4].isEmpty());
    String nodeId = value(env, "NODE_ID").orElse("");
    Matcher pod = POD_NAME.matcher(own.map(p -> p[0]).orElse(nodeId));
    Optional<String> setFromPod = pod.matches() ? Optional.of(pod.group(1)) : Optional.empty();
    String set = value(env, "STATEFULSET_NAME").or(() -> setFromPod).orElse(DEFAULT_SET);
    String headless = value(env, "HEADLESS_SERVICE").or(() -> own.map(p -> p[1])).orElse(DEFAULT_HEADLESS);
    String namespace = value(env, "POD_NAMESPACE").or(() -> own.map(p -> p[2])).orElse("default");
    String domain = value(env, "CLUSTER_DOMAIN").or(() -> own.map(p -> p[4])).orElse("cluster.local");
    for (String[] part : new String[][] {{"STATEFULSET_NAME", set}, {"HEADLESS_SERVICE", headless}, {"POD_NAMESPACE", namespace}}) {
      if (part[1].length() > 63 || !DNS_LABEL.matcher(part[1]).matches()) {
        throw new ConfigException(part[0] + "=" + part[1] + " is not a DNS label (lower-case letters, digits and '-')");
      }
    }
    return new StatefulSetPeers(set, headless, namespace, domain);
  }

  /** Peers 0..count-1, each listening on {@code port}. */
  List<Peer> peers(int count, int port) {
    List<Peer> peers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      peers.add(peer(i, port));
    }
    return List.copyOf(peers);
  }

  /** Pod {@code ordinal}'s address: {@code <set>-<i>.<headless>.<namespace>.svc.<domain>:<port>}. */
  Peer peer(int ordinal, int port) {
    return new Peer(ordinal, set + "-" + ordinal + "." + headless + "." + namespace + ".svc." + domain, port);
  }

  /**
   * This machine's fully qualified name as /etc/hosts gives it: the first name on a line that also
   * names {@code hostname} and starts with {@code hostname + "."}. Empty when there is none (outside
   * Kubernetes, or the file cannot be read). No DNS query is made.
   */
  public static Optional<String> ownDnsName(Path etcHosts, String hostname) {
    if (hostname == null || hostname.isBlank()) {
      return Optional.empty();
    }
    try {
      for (String line : Files.readAllLines(etcHosts)) {
        int hash = line.indexOf('#');
        String[] fields = (hash >= 0 ? line.substring(0, hash) : line).trim().split("\\s+");
        for (int i = 1; i < fields.length; i++) {
          if (fields[i].startsWith(hostname + ".")) {
            return Optional.of(fields[i]);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  private static Optional<String> value(Map<String, String> env, String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.trim());
  }
}
