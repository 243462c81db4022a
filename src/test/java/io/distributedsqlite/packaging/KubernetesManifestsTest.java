package io.distributedsqlite.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.distributedsqlite.config.NodeConfig;
import io.distributedsqlite.config.Peer;
import io.distributedsqlite.config.StatefulSetPeers;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.TopologySpreadConstraint;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes manifests and the Dockerfile agree with each other and with the node's own
 * configuration code: ports, probe paths, service names, the peer DNS names the nodes will
 * compute, cluster size against replicas, and a disruption budget that keeps a quorum.
 */
class KubernetesManifestsTest {

  private static final Path ROOT = findRepoRoot();
  private static final Path K8S = ROOT.resolve("kubernetes");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static final Map<String, List<JsonNode>> BY_KIND = new HashMap<>();
  private static StatefulSet sts;
  private static Container node;
  private static ConfigMap config;
  private static Service headless;
  private static Service client;
  private static PodDisruptionBudget pdb;
  private static Secret secret;

  @BeforeAll
  static void parseManifests() throws IOException {
    for (Path file : manifestFiles()) {
      for (JsonNode doc : YAML.readerFor(JsonNode.class).<JsonNode>readValues(file.toFile()).readAll()) {
        if (doc == null || doc.isNull() || doc.isEmpty()) {
          continue;
        }
        assertTrue(doc.hasNonNull("apiVersion") && doc.hasNonNull("kind"), file + ": a document without apiVersion/kind");
        BY_KIND.computeIfAbsent(doc.get("kind").asText(), k -> new ArrayList<>()).add(doc);
      }
    }
    sts = only("StatefulSet", StatefulSet.class);
    config = only("ConfigMap", ConfigMap.class);
    pdb = only("PodDisruptionBudget", PodDisruptionBudget.class);
    assertEquals(List.of(), BY_KIND.getOrDefault("Secret", List.of()),
        "the base creates no Secret, so `kubectl apply -k kubernetes/` cannot reset a real token");
    secret = YAML.readValue(K8S.resolve("examples/secret.yaml").toFile(), Secret.class);
    List<Service> services = all("Service", Service.class);
    assertEquals(2, services.size(), "a headless and a client Service");
    headless = services.stream().filter(s -> "None".equals(s.getSpec().getClusterIP())).findFirst()
        .orElseThrow(() -> new AssertionError("no Service with clusterIP: None"));
    client = services.stream().filter(s -> s != headless).findFirst().orElseThrow();
    List<Container> containers = sts.getSpec().getTemplate().getSpec().getContainers();
    assertEquals(1, containers.size(), "one container per pod");
    node = containers.get(0);
  }

  @Test
  void everyFieldIsAKnownKubernetesField() {
    // fabric8 keeps unknown fields in additionalProperties instead of failing: a misspelt
    // field (publishNotReadyAdresses) would otherwise be silently ignored by Kubernetes.
    List<String> unknown = new ArrayList<>();
    for (Object o : List.of(sts, config, pdb, secret, headless, client)) {
      collectUnknownFields(o, o.getClass().getSimpleName(), unknown);
    }
    assertEquals(List.of(), unknown, "fields Kubernetes does not know");
  }

  @Test
  void kustomizationListsEveryManifest() throws IOException {
    JsonNode k = YAML.readTree(K8S.resolve("kustomization.yaml").toFile());
    Set<String> listed = new TreeSet<>();
    k.path("resources").forEach(r -> listed.add(r.asText()));
    Set<String> present = manifestFiles().stream().map(p -> p.getFileName().toString())
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(present, listed, "kustomization.yaml resources vs. the manifests in kubernetes/");
  }

  @Test
  void theExampleSecretLivesOutsideTheBase() throws IOException {
    // kustomize refuses an overlay inside its base's directory, so the example is a plain file
    // applied on its own (kubectl apply -f), never by `kubectl apply -k kubernetes/`.
    JsonNode k = YAML.readTree(K8S.resolve("kustomization.yaml").toFile());
    k.path("resources").forEach(r -> assertFalse(r.asText().contains("examples"), "the base lists " + r.asText()));
    assertEquals("distributed-sqlite-secret", secret.getMetadata().getName());
    String readme = Files.readString(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    assertTrue(readme.contains("create secret generic distributed-sqlite-secret"),
        "README says how to create the Secret the base runs with");
    assertTrue(readme.contains("kubernetes/examples/secret.yaml"), "README names the example Secret");
  }

  @Test
  void containerPortIsTheServicesTargetAndTheProbesPort() {
    int port = containerPort();
    assertEquals(8080, port, "the node's default PORT");
    assertEquals(String.valueOf(port), env("PORT").getValue(), "PORT env equals the containerPort");
    for (Service s : List.of(headless, client)) {
      ServicePort sp = onlyPort(s);
      assertEquals(port, resolve(sp.getTargetPort()), s.getMetadata().getName() + " targetPort");
      assertEquals(8080, sp.getPort(), s.getMetadata().getName() + " port");
    }
    for (Probe p : probes().values()) {
      assertEquals(port, resolve(p.getHttpGet().getPort()), "probe port");
    }
  }

  @Test
  void livenessChecksHealthAndReadinessChecksReady() {
    Map<String, Probe> probes = probes();
    assertEquals("/health", httpGet(probes.get("liveness")).getPath());
    assertEquals("/ready", httpGet(probes.get("readiness")).getPath());
    if (probes.containsKey("startup")) {
      assertEquals("/health", httpGet(probes.get("startup")).getPath());
    }
  }

  @Test
  void headlessServiceGovernsTheStatefulSetAndPublishesNotReadyPods() {
    assertEquals(headless.getMetadata().getName(), sts.getSpec().getServiceName());
    assertEquals("None", headless.getSpec().getClusterIP());
    assertEquals(Boolean.TRUE, headless.getSpec().getPublishNotReadyAddresses(),
        "peers must find each other before they are ready, and resolve a joining pod, which is not ready until it has"
            + " streamed its ranges but takes writes for them meanwhile");
    assertEquals("Parallel", sts.getSpec().getPodManagementPolicy(),
        "pods added by a scale-up start without waiting for each other (their joins serialise themselves), and a"
            + " cluster that lost all pods comes back at once");
    assertTrue(client.getSpec().getClusterIP() == null || !"None".equals(client.getSpec().getClusterIP()));
  }

  @Test
  void selectorsMatchThePodLabels() {
    Map<String, String> podLabels = sts.getSpec().getTemplate().getMetadata().getLabels();
    assertSubset(sts.getSpec().getSelector().getMatchLabels(), podLabels, "StatefulSet selector");
    assertSubset(headless.getSpec().getSelector(), podLabels, "headless Service selector");
    assertSubset(client.getSpec().getSelector(), podLabels, "client Service selector");
    assertSubset(pdb.getSpec().getSelector().getMatchLabels(), podLabels, "PDB selector");
    for (TopologySpreadConstraint c : sts.getSpec().getTemplate().getSpec().getTopologySpreadConstraints()) {
      assertSubset(c.getLabelSelector().getMatchLabels(), podLabels, "topology spread selector " + c.getTopologyKey());
    }
  }

  @Test
  void podsSpreadOverZonesAndMachines() {
    Map<String, TopologySpreadConstraint> byKey = new HashMap<>();
    for (TopologySpreadConstraint c : sts.getSpec().getTemplate().getSpec().getTopologySpreadConstraints()) {
      byKey.put(c.getTopologyKey(), c);
    }
    assertEquals(Set.of("topology.kubernetes.io/zone", "kubernetes.io/hostname"), byKey.keySet());
    for (TopologySpreadConstraint c : byKey.values()) {
      assertEquals(1, c.getMaxSkew(), c.getTopologyKey());
      // A cluster with fewer zones or machines than nodes must still run every pod.
      assertEquals("ScheduleAnyway", c.getWhenUnsatisfiable(), c.getTopologyKey());
    }
  }

  @Test
  void podGetsNoServiceAccountToken() {
    assertEquals(Boolean.FALSE, sts.getSpec().getTemplate().getSpec().getAutomountServiceAccountToken(),
        "the node never calls the Kubernetes API");
  }

  @Test
  void preStopDelayAndShutdownFitInTheGracePeriod() {
    var preStop = node.getLifecycle() == null ? null : node.getLifecycle().getPreStop();
    assertNotNull(preStop, "a preStop hook: endpoints drop the pod before it stops accepting connections");
    long delay;
    if (preStop.getSleep() != null) {
      delay = preStop.getSleep().getSeconds();
    } else {
      List<String> cmd = preStop.getExec().getCommand();
      assertEquals("sleep", cmd.get(0), "preStop sleeps: " + cmd);
      delay = Long.parseLong(cmd.get(1));
    }
    assertTrue(delay >= 3, "preStop delay of a few seconds, got " + delay);
    NodeConfig cfg = NodeConfig.fromEnvironment(podEnvironment(sts.getMetadata().getName() + "-0", "prod"));
    long grace = sts.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
    assertTrue(delay + cfg.shutdownTimeout().toSeconds() < grace,
        "preStop " + delay + "s + SHUTDOWN_TIMEOUT " + cfg.shutdownTimeout().toSeconds() + "s < grace " + grace + "s");
  }

  @Test
  void startupProbeWaitsAsLongAsTheNodesStartupTimeout() {
    Probe startup = node.getStartupProbe();
    assertNotNull(startup, "startupProbe");
    NodeConfig cfg = NodeConfig.fromEnvironment(podEnvironment(sts.getMetadata().getName() + "-0", "prod"));
    long probeSeconds = (long) startup.getPeriodSeconds() * startup.getFailureThreshold();
    assertTrue(probeSeconds >= cfg.startupTimeout().toSeconds(),
        "startupProbe " + probeSeconds + "s >= STARTUP_TIMEOUT " + cfg.startupTimeout().toSeconds() + "s");
    assertTrue(cfg.startupTimeout().toSeconds() >= 300, "a large database has minutes to start, got " + cfg.startupTimeout());
  }

  @Test
  void nodeIdAndNamespaceComeFromTheDownwardApi() {
    assertEquals("metadata.name", fieldRef("NODE_ID"));
    assertEquals("metadata.namespace", fieldRef("POD_NAMESPACE"));
  }

  @Test
  void clusterTokenComesFromTheSecret() {
    EnvVarSource from = env("CLUSTER_TOKEN").getValueFrom();
    assertNotNull(from, "CLUSTER_TOKEN must not be a literal");
    var ref = from.getSecretKeyRef();
    assertNotNull(ref, "CLUSTER_TOKEN comes from a secretKeyRef");
    assertEquals(secret.getMetadata().getName(), ref.getName());
    assertFalse(Boolean.TRUE.equals(ref.getOptional()), "a node must not start without the token");
    assertTrue(secretValue(ref.getKey()) != null, "the Secret has key " + ref.getKey());
    assertFalse(config.getData().containsKey("CLUSTER_TOKEN"), "no token in the ConfigMap");
  }

  @Test
  void scaleScriptDecommissionsEachPodWithTheImagesCurlBeforeTheSetRemovesIt() throws Exception {
    Path script = ROOT.resolve("bin/k8s-scale");
    assertTrue(Files.isExecutable(script), "bin/k8s-scale is executable");
    String sh = Files.readString(script, StandardCharsets.UTF_8);
    assertTrue(sh.contains("set_name=" + sts.getMetadata().getName() + ";"), "its default StatefulSet is the base's");
    // The decommission runs inside the pod, on the node's own port, with the tool the image has.
    assertTrue(sh.contains("/admin/decommission?wait=") && sh.contains("exec curl ")
            && sh.contains("${PORT:-" + containerPort() + "}"),
        "POST /admin/decommission with curl on the pod's PORT");
    String df = dockerfile();
    assertTrue(df.contains("command -v curl") && df.contains("install -y --no-install-recommends curl"),
        "the image has curl (installed when the base lacks it)");
    int decommission = sh.indexOf("exec -i \"$pod\" -- sh -c \"$decommission_in_pod\"");
    assertTrue(decommission > 0 && decommission < sh.lastIndexOf("--replicas=\"$i\""),
        "a pod is decommissioned before the set is scaled down past it");
    Process syntax = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
    String err = new String(syntax.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, syntax.waitFor(), "bash -n bin/k8s-scale: " + err);
    Process help = new ProcessBuilder("bash", script.toString(), "--help").redirectErrorStream(true).start();
    String usage = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, help.waitFor(), usage);
    assertTrue(usage.startsWith("Resizes a running distributed-sqlite StatefulSet") && usage.contains("--namespace"), usage);
    String pvcPolicy = sts.getSpec().getPersistentVolumeClaimRetentionPolicy().getWhenScaled();
    assertEquals("Retain", pvcPolicy, "a plain kubectl scale down keeps the pod's data; the script deletes the claim"
        + " only after the node has left");
  }

  @Test
  void clusterSizeEqualsReplicasAndReplicationFitsInIt() {
    int replicas = sts.getSpec().getReplicas();
    assertEquals(3, replicas);
    int size = Integer.parseInt(config.getData().get("CLUSTER_SIZE"));
    int rf = Integer.parseInt(config.getData().get("REPLICATION_FACTOR"));
    assertEquals(replicas, size, "ConfigMap CLUSTER_SIZE (the first view) vs. the StatefulSet's initial replicas");
    assertTrue(rf >= 1 && rf <= size, "1 <= REPLICATION_FACTOR <= CLUSTER_SIZE");
    boolean fromConfigMap = node.getEnvFrom() != null && node.getEnvFrom().stream()
        .anyMatch(e -> e.getConfigMapRef() != null && config.getMetadata().getName().equals(e.getConfigMapRef().getName()));
    assertTrue(fromConfigMap, "the container reads the ConfigMap with envFrom");
  }

  @Test
  void disruptionBudgetKeepsAQuorumOfEveryKeysReplicas() {
    int replicas = sts.getSpec().getReplicas();
    int rf = Integer.parseInt(config.getData().get("REPLICATION_FACTOR"));
    IntOrString maxUnavailable = pdb.getSpec().getMaxUnavailable();
    assertNotNull(maxUnavailable, "PDB uses maxUnavailable (works for any replica count)");
    assertEquals(1, maxUnavailable.getIntVal());
    // In the worst case every unavailable pod holds a replica of the same key.
    int replicasLeft = rf - maxUnavailable.getIntVal();
    assertTrue(replicasLeft >= rf / 2 + 1, "a quorum of " + (rf / 2 + 1) + " of RF " + rf + " stays up");
    assertTrue(replicas - maxUnavailable.getIntVal() >= 1);
  }

  @Test
  void nodeConfigAcceptsThePodEnvironmentAndComputesThePodDnsNames() {
    int replicas = sts.getSpec().getReplicas();
    String ns = "prod";
    for (int i = 0; i < replicas; i++) {
      String podName = sts.getMetadata().getName() + "-" + i;
      NodeConfig cfg = NodeConfig.fromEnvironment(podEnvironment(podName, ns));
      assertEquals(i, cfg.nodeId(), podName);
      assertEquals(containerPort(), cfg.port());
      assertEquals(replicas, cfg.clusterSize());
      assertEquals(Path.of(mountPathOf("data")), cfg.dataDir(), "DATA_DIR is the data volume's mount path");
      assertTrue(cfg.clusterToken().isPresent());
      assertTrue(cfg.shutdownTimeout().toSeconds()
              < sts.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds(),
          "SHUTDOWN_TIMEOUT ends before Kubernetes kills the pod");
      List<Peer> peers = cfg.peers();
      assertEquals(replicas, peers.size());
      for (Peer p : peers) {
        String expected = sts.getMetadata().getName() + "-" + p.id() + "." + headless.getMetadata().getName()
            + "." + ns + ".svc.cluster.local";
        assertEquals(expected, p.host(), "peer DNS name the node computes");
        assertEquals(onlyPort(headless).getPort(), p.port(), "peers are reached on the headless service port");
      }
    }
  }

  @Test
  void aPodAddedByScalingUpJoinsWithTheConfigMapUnchanged() {
    // kubectl scale --replicas=N+1 is the whole procedure: the new pod's ordinal is CLUSTER_SIZE
    // or more, so it joins, and its peers' addresses (its own included) follow the DNS pattern.
    int replicas = sts.getSpec().getReplicas();
    String podName = sts.getMetadata().getName() + "-" + replicas;
    NodeConfig added = NodeConfig.fromEnvironment(podEnvironment(podName, "prod"));
    assertTrue(added.join(), podName + " joins the running cluster");
    assertEquals(replicas, added.clusterSize(), "CLUSTER_SIZE stays the first view's size");
    String expected = podName + "." + headless.getMetadata().getName() + ".prod.svc.cluster.local";
    assertEquals(expected, added.self().host(), "the new pod's own address");
    assertEquals(expected, NodeConfig.fromEnvironment(podEnvironment(sts.getMetadata().getName() + "-0", "prod"))
        .peer(replicas).orElseThrow().host(), "a running pod derives the new pod's address");
    assertFalse(NodeConfig.fromEnvironment(podEnvironment(sts.getMetadata().getName() + "-0", "prod")).join(),
        "a pod of the first view forms it");
  }

  @Test
  void nameEnvironmentMatchesTheObjects() {
    // Neither is needed: the set's name comes from NODE_ID (the pod name), the headless service's
    // from the pod's DNS name or the default both this store and the original use.
    EnvVar set = envOrNull("STATEFULSET_NAME");
    if (set != null) {
      assertEquals(sts.getMetadata().getName(), set.getValue());
    }
    EnvVar hs = envOrNull("HEADLESS_SERVICE");
    assertEquals(hs != null ? hs.getValue() : StatefulSetPeers.DEFAULT_HEADLESS, headless.getMetadata().getName());
    assertEquals(headless.getMetadata().getName(), sts.getSpec().getServiceName(), "the StatefulSet's governing service");
  }

  @Test
  void podRunsAsTheImagesNonRootUserWithDataOnAClaim() throws IOException {
    PodSpec pod = sts.getSpec().getTemplate().getSpec();
    PodSecurityContext sc = pod.getSecurityContext();
    assertEquals(Boolean.TRUE, sc.getRunAsNonRoot());
    assertEquals(10001L, sc.getRunAsUser());
    assertEquals(10001L, sc.getFsGroup());
    assertEquals(30L, pod.getTerminationGracePeriodSeconds());
    assertTrue(sts.getSpec().getVolumeClaimTemplates().stream().anyMatch(c -> "data".equals(c.getMetadata().getName())));
    assertEquals("/data", mountPathOf("data"));
    assertNotNull(node.getResources().getRequests().get("memory"));
    assertNotNull(node.getResources().getLimits().get("memory"));
    // The request is the smallest limit OriginalStatefulSetIT and BENCHMARKS.md's memory table
    // show holding the load with 0 errors; the limit is not below it.
    long request = Quantity.getAmountInBytes(node.getResources().getRequests().get("memory")).longValueExact();
    long limit = Quantity.getAmountInBytes(node.getResources().getLimits().get("memory")).longValueExact();
    assertEquals(128L << 20, request, "memory request = the measured smallest limit (128 MiB)");
    assertTrue(limit >= request, "memory limit >= request");
    if (Boolean.TRUE.equals(node.getSecurityContext().getReadOnlyRootFilesystem())) {
      assertEquals("/tmp", mountPathOf("tmp"), "sqlite-jdbc and the JVM need a writable /tmp");
    }
    Matcher user = Pattern.compile("(?m)^ARG APP_UID=(\\d+)").matcher(dockerfile());
    assertTrue(user.find(), "Dockerfile ARG APP_UID");
    assertEquals(sc.getRunAsUser(), Long.valueOf(user.group(1)), "image uid vs. runAsUser");
  }

  @Test
  void dockerfileBuildsANonRootImageThatReceivesSignals() throws IOException {
    String df = dockerfile();
    List<String> lines = instructions(df);
    assertTrue(lines.stream().anyMatch(l -> l.matches("ARG BASE_IMAGE=\\S+")), "ARG BASE_IMAGE=<public default>");
    assertTrue(lines.stream().anyMatch(l -> l.equals("FROM ${BASE_IMAGE}")), "FROM ${BASE_IMAGE}");
    String user = last(lines, "USER ").substring(5).trim();
    assertFalse(user.startsWith("root") || user.startsWith("0:") || user.equals("0"), "non-root USER, got " + user);
    String entrypoint = last(lines, "ENTRYPOINT ").substring(11).trim();
    assertTrue(entrypoint.startsWith("[") && entrypoint.endsWith("]"), "exec-form ENTRYPOINT (JSON array)");
    JsonNode argv = new ObjectMapper().readTree(entrypoint);
    assertTrue(argv.isArray() && argv.size() == 1, "ENTRYPOINT is the sizing script alone");
    String script = argv.get(0).asText();
    assertTrue(lines.stream().anyMatch(l -> l.equals("COPY src/main/docker/entrypoint.sh " + script)),
        "the image copies src/main/docker/entrypoint.sh to " + script);
    String sh = Files.readString(ROOT.resolve("src/main/docker/entrypoint.sh"), StandardCharsets.UTF_8);
    List<String> execs = sh.lines().map(String::trim).filter(l -> l.startsWith("exec ")).toList();
    assertEquals(1, execs.size(), "the script ends in exactly one exec");
    assertTrue(execs.get(0).startsWith("exec java ") && execs.get(0).contains("-jar /app/distributed-sqlite.jar"),
        "the script execs the JVM, which so is PID 1: " + execs.get(0));
    assertTrue(sh.contains("-XX:+ExitOnOutOfMemoryError") && sh.contains("-XX:MaxRAMPercentage=")
        && sh.contains("memory.max") && sh.contains("memory.limit_in_bytes"),
        "heap from the cgroup limit (v1 and v2), exit on OutOfMemoryError");
    assertTrue(sh.indexOf("${JAVA_OPTS:-}") > sh.indexOf("$flags"), "JAVA_OPTS comes last, so it overrides the sizing");
    // The check itself (HTTPS when TLS is on) runs against a TLS node in TlsTest.
    String health = last(lines, "HEALTHCHECK ");
    assertTrue(health.endsWith("CMD [\"/app/healthcheck.sh\"]"), "HEALTHCHECK runs the image's script: " + health);
    assertTrue(lines.contains("COPY src/main/docker/healthcheck.sh /app/healthcheck.sh"), "the image copies the script");
    String check = Files.readString(ROOT.resolve("src/main/docker/healthcheck.sh"), StandardCharsets.UTF_8);
    assertTrue(check.contains("TLS_CERT_FILE") && check.contains("https://") && check.contains("/health"),
        "the script speaks HTTPS when TLS_CERT_FILE is set");
    assertTrue(Files.isExecutable(ROOT.resolve("src/main/docker/healthcheck.sh")), "the script is executable");
    assertTrue(lines.stream().anyMatch(l -> l.equals("EXPOSE " + containerPort())), "EXPOSE " + containerPort());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("ENV ") && l.contains("DATA_DIR=/data")), "DATA_DIR=/data");
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("VOLUME ") && l.contains("/data")), "VOLUME /data");
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("COPY target/distributed-sqlite.jar ")),
        "the image copies the prebuilt jar");
    String ignore = Files.readString(ROOT.resolve(".dockerignore"), StandardCharsets.UTF_8);
    assertTrue(ignore.lines().anyMatch(l -> l.trim().equals("*")) && ignore.contains("!target/distributed-sqlite.jar"),
        ".dockerignore sends only the jar (and the entrypoint)");
    assertTrue(ignore.contains("!src/main/docker/entrypoint.sh"), ".dockerignore sends the entrypoint");
    assertTrue(ignore.contains("!src/main/docker/healthcheck.sh"), ".dockerignore sends the health check");
  }

  @Test
  void tlsComponentMountsTheSecretSetsTheFilesAndProbesOverHttps(@TempDir Path tmp) throws IOException {
    StatefulSet tls = withComponent("tls");
    Container c = tls.getSpec().getTemplate().getSpec().getContainers().get(0);
    collectUnknownFieldsOf(tls);
    for (Probe p : List.of(c.getStartupProbe(), c.getLivenessProbe(), c.getReadinessProbe())) {
      assertEquals("HTTPS", p.getHttpGet().getScheme(), "a TLS node answers probes only over HTTPS");
    }
    Map<String, String> files = secretFiles(tls, c, "distributed-sqlite-tls", tmp);
    assertEquals(Set.of("tls.crt", "tls.key", "ca.crt"), new TreeSet<>(files.values()), "keys of the TLS Secret");
    Map<String, String> env = podEnvironment(c, sts.getMetadata().getName() + "-0", "prod");
    for (String var : List.of("TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CA_FILE")) {
      assertTrue(files.containsKey(env.get(var)), var + "=" + env.get(var) + " is a file of the mounted Secret " + files);
      env.put(var, tmp.resolve(files.get(env.get(var))).toString());
    }
    NodeConfig cfg = NodeConfig.fromEnvironment(env);
    assertTrue(cfg.tls().isPresent(), "the node serves TLS with these files");
  }

  @Test
  void apiTokensComponentReadsTheTokenFileFromASecret(@TempDir Path tmp) throws IOException {
    StatefulSet tokens = withComponent("api-tokens");
    Container c = tokens.getSpec().getTemplate().getSpec().getContainers().get(0);
    collectUnknownFieldsOf(tokens);
    Map<String, String> files = secretFiles(tokens, c, "distributed-sqlite-api-tokens", tmp);
    Map<String, String> env = podEnvironment(c, sts.getMetadata().getName() + "-0", "prod");
    String path = env.get("API_TOKENS_FILE");
    assertTrue(files.containsKey(path), "API_TOKENS_FILE=" + path + " is a file of the mounted Secret " + files);
    Path file = tmp.resolve(files.get(path));
    Files.writeString(file, "0123456789abcdef0123 rw\n");
    env.put("API_TOKENS_FILE", file.toString());
    assertTrue(NodeConfig.fromEnvironment(env).apiTokens().enabled(), "client authentication is on");
  }

  @Test
  void kubectlRendersTheBaseAndTheComponentsAsThisTestApplies(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(kubectlKustomizes(), "kubectl with kustomize components (1.21+) not on PATH");
    List<JsonNode> base = kustomize(K8S);
    assertTrue(base.stream().noneMatch(d -> "Secret".equals(d.path("kind").asText())), "the rendered base has no Secret");
    Path overlay = Files.createDirectories(tmp.resolve("overlay"));
    String rel = overlay.relativize(K8S).toString();
    Files.writeString(overlay.resolve("kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        + "kind: Kustomization\nresources: [" + rel + "]\n"
        + "components: [" + rel + "/components/tls, " + rel + "/components/api-tokens]\n");
    JsonNode rendered = kustomize(overlay).stream().filter(d -> "StatefulSet".equals(d.path("kind").asText()))
        .findFirst().orElseThrow();
    assertEquals(patched("tls", "api-tokens").at("/spec/template/spec"), rendered.at("/spec/template/spec"),
        "kubectl kustomize and this test's patching give the same pod");
  }

  private static boolean kubectlKustomizes() {
    try {
      Process p = new ProcessBuilder("kubectl", "version", "--client").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return p.waitFor() == 0 && out.contains("Kustomize Version: v5");
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static List<JsonNode> kustomize(Path dir) throws Exception {
    Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString()).start();
    byte[] out = p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), "kubectl kustomize " + dir + ": " + err);
    return YAML.readerFor(JsonNode.class).<JsonNode>readValues(out).readAll();
  }

  /** The base StatefulSet with the JSON-patch operations of kubernetes/components/NAME applied. */
  private static StatefulSet withComponent(String name) throws IOException {
    return YAML.treeToValue(patched(name), StatefulSet.class);
  }

  private static JsonNode patched(String... components) throws IOException {
    JsonNode doc = BY_KIND.get("StatefulSet").get(0).deepCopy();
    for (String name : components) {
      JsonNode component = YAML.readTree(K8S.resolve("components/" + name + "/kustomization.yaml").toFile());
      assertEquals("Component", component.path("kind").asText());
      int applied = 0;
      for (JsonNode patch : component.path("patches")) {
        assertEquals("StatefulSet", patch.at("/target/kind").asText());
        assertEquals(sts.getMetadata().getName(), patch.at("/target/name").asText());
        for (JsonNode op : YAML.readTree(patch.path("patch").asText())) {
          JsonPatchOp.apply(doc, op);
          applied++;
        }
      }
      assertTrue(applied > 0, name + " patches the StatefulSet");
    }
    return doc;
  }

  /**
   * The files a Secret volume puts into the container: absolute path -> key of the Secret. Each key
   * becomes an empty file under {@code tmp} (named as the key), for NodeConfig's readability check.
   */
  private static Map<String, String> secretFiles(StatefulSet set, Container c, String secretName, Path tmp) throws IOException {
    var volume = set.getSpec().getTemplate().getSpec().getVolumes().stream()
        .filter(v -> v.getSecret() != null && secretName.equals(v.getSecret().getSecretName())).findFirst()
        .orElseThrow(() -> new AssertionError("no volume from the Secret " + secretName));
    assertFalse(Boolean.TRUE.equals(volume.getSecret().getOptional()), "a node must not start without " + secretName);
    int mode = volume.getSecret().getDefaultMode();
    assertTrue((mode & 0040) != 0 && (mode & 0007) == 0, "group (fsGroup) may read, others not: " + Integer.toOctalString(mode));
    VolumeMount mount = c.getVolumeMounts().stream().filter(m -> volume.getName().equals(m.getName())).findFirst()
        .orElseThrow(() -> new AssertionError("volume " + volume.getName() + " is not mounted"));
    assertEquals(Boolean.TRUE, mount.getReadOnly());
    Map<String, String> files = new HashMap<>();
    for (var item : volume.getSecret().getItems()) {
      files.put(mount.getMountPath() + "/" + item.getPath(), item.getKey());
      Files.writeString(tmp.resolve(item.getKey()), "");
    }
    return files;
  }

  private static void collectUnknownFieldsOf(StatefulSet set) {
    List<String> unknown = new ArrayList<>();
    collectUnknownFields(set, "StatefulSet", unknown);
    assertEquals(List.of(), unknown, "fields Kubernetes does not know");
  }

  /** RFC 6902 add, replace and remove (the operations the components use) on a Jackson tree. */
  private static final class JsonPatchOp {
    static void apply(JsonNode doc, JsonNode op) {
      String path = op.path("path").asText();
      int cut = path.lastIndexOf('/');
      JsonNode parent = doc.at(path.substring(0, cut));
      String last = path.substring(cut + 1).replace("~1", "/").replace("~0", "~");
      String kind = op.path("op").asText();
      assertFalse(parent.isMissingNode(), kind + " " + path + ": no parent");
      if (parent instanceof com.fasterxml.jackson.databind.node.ObjectNode obj) {
        switch (kind) {
          case "add" -> obj.set(last, op.get("value"));
          case "replace" -> {
            assertTrue(obj.has(last), "replace " + path + ": nothing there");
            obj.set(last, op.get("value"));
          }
          case "remove" -> assertNotNull(obj.remove(last), "remove " + path + ": nothing there");
          default -> fail("unsupported op " + kind);
        }
      } else if (parent instanceof com.fasterxml.jackson.databind.node.ArrayNode arr) {
        int i = "-".equals(last) ? arr.size() : Integer.parseInt(last);
        switch (kind) {
          case "add" -> arr.insert(i, op.get("value"));
          case "replace" -> arr.set(i, op.get("value"));
          case "remove" -> arr.remove(i);
          default -> fail("unsupported op " + kind);
        }
      } else {
        fail(kind + " " + path + ": parent is not an object or array");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The environment Kubernetes gives pod {@code podName}: ConfigMap, literals, downward API, Secret. */
  private static Map<String, String> podEnvironment(String podName, String namespace) {
    return podEnvironment(node, podName, namespace);
  }

  private static Map<String, String> podEnvironment(Container container, String podName, String namespace) {
    Map<String, String> env = new HashMap<>(config.getData());
    for (EnvVar e : container.getEnv()) {
      if (e.getValue() != null) {
        env.put(e.getName(), e.getValue());
      } else if (e.getValueFrom().getFieldRef() != null) {
        String path = e.getValueFrom().getFieldRef().getFieldPath();
        switch (path) {
          case "metadata.name" -> env.put(e.getName(), podName);
          case "metadata.namespace" -> env.put(e.getName(), namespace);
          default -> fail("unexpected fieldRef " + path);
        }
      } else if (e.getValueFrom().getSecretKeyRef() != null) {
        env.put(e.getName(), secretValue(e.getValueFrom().getSecretKeyRef().getKey()));
      } else {
        fail("unexpected env source for " + e.getName());
      }
    }
    return env;
  }

  private static void collectUnknownFields(Object o, String path, List<String> out) {
    if (o == null) {
      return;
    }
    if (o instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        collectUnknownFields(list.get(i), path + "[" + i + "]", out);
      }
      return;
    }
    if (o instanceof Map<?, ?> map) {
      map.forEach((k, v) -> collectUnknownFields(v, path + "." + k, out));
      return;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return;
    }
    for (Method m : o.getClass().getMethods()) {
      if (m.getParameterCount() != 0 || !m.getName().startsWith("get") || m.getDeclaringClass() == Object.class) {
        continue;
      }
      try {
        Object value = m.invoke(o);
        if (m.getName().equals("getAdditionalProperties")) {
          if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
            extra.keySet().forEach(k -> out.add(path + "." + k));
          }
        } else if (!(o instanceof IntOrString) && !(o instanceof Quantity)) {
          collectUnknownFields(value, path + "." + m.getName().substring(3), out);
        }
      } catch (ReflectiveOperationException e) {
        throw new AssertionError(path + "." + m.getName(), e);
      }
    }
  }

  private static String secretValue(String key) {
    if (secret.getStringData() != null && secret.getStringData().containsKey(key)) {
      return secret.getStringData().get(key);
    }
    if (secret.getData() != null && secret.getData().containsKey(key)) {
      return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
    }
    return null;
  }

  private static int containerPort() {
    List<ContainerPort> ports = node.getPorts();
    assertEquals(1, ports.size(), "one container port");
    return ports.get(0).getContainerPort();
  }

  /** A numeric port, or a named one looked up among the container's ports. */
  private static int resolve(IntOrString port) {
    assertNotNull(port, "port");
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    return node.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName()))
        .map(ContainerPort::getContainerPort).findFirst()
        .orElseThrow(() -> new AssertionError("no container port named " + port.getStrVal()));
  }

  private static Map<String, Probe> probes() {
    Map<String, Probe> probes = new HashMap<>();
    assertNotNull(node.getLivenessProbe(), "livenessProbe");
    assertNotNull(node.getReadinessProbe(), "readinessProbe");
    probes.put("liveness", node.getLivenessProbe());
    probes.put("readiness", node.getReadinessProbe());
    if (node.getStartupProbe() != null) {
      probes.put("startup", node.getStartupProbe());
    }
    return probes;
  }

  private static HTTPGetAction httpGet(Probe p) {
    assertNotNull(p.getHttpGet(), "an httpGet probe");
    return p.getHttpGet();
  }

  private static ServicePort onlyPort(Service s) {
    assertEquals(1, s.getSpec().getPorts().size(), s.getMetadata().getName() + " has one port");
    return s.getSpec().getPorts().get(0);
  }

  private static String mountPathOf(String volume) {
    return node.getVolumeMounts().stream().filter(m -> volume.equals(m.getName())).map(VolumeMount::getMountPath)
        .findFirst().orElseThrow(() -> new AssertionError("no volumeMount " + volume));
  }

  private static EnvVar envOrNull(String name) {
    return node.getEnv().stream().filter(e -> name.equals(e.getName())).findFirst().orElse(null);
  }

  private static EnvVar env(String name) {
    EnvVar e = envOrNull(name);
    assertNotNull(e, "env " + name);
    return e;
  }

  private static String fieldRef(String name) {
    EnvVarSource from = env(name).getValueFrom();
    assertTrue(from != null && from.getFieldRef() != null, name + " comes from a fieldRef");
    return from.getFieldRef().getFieldPath();
  }

  private static void assertSubset(Map<String, String> selector, Map<String, String> labels, String what) {
    assertTrue(selector != null && !selector.isEmpty(), what + " is not empty");
    selector.forEach((k, v) -> assertEquals(v, labels.get(k), what + " label " + k));
  }

  private static <T> T only(String kind, Class<T> type) {
    List<T> found = all(kind, type);
    assertEquals(1, found.size(), "exactly one " + kind);
    return found.get(0);
  }

  private static <T> List<T> all(String kind, Class<T> type) {
    List<T> out = new ArrayList<>();
    for (JsonNode doc : BY_KIND.getOrDefault(kind, List.of())) {
      try {
        out.add(YAML.treeToValue(doc, type));
      } catch (IOException e) {
        throw new AssertionError(kind + " does not parse as " + type.getSimpleName() + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  private static List<Path> manifestFiles() throws IOException {
    try (Stream<Path> files = Files.list(K8S)) {
      return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
          .filter(p -> !p.getFileName().toString().startsWith("kustomization."))
          .sorted().toList();
    }
  }

  private static String dockerfile() throws IOException {
    return Files.readString(ROOT.resolve("Dockerfile"), StandardCharsets.UTF_8);
  }

  /** Dockerfile instructions with continuation lines joined and comments dropped. */
  private static List<String> instructions(String dockerfile) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String raw : dockerfile.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("#") || (line.isEmpty() && current.length() == 0)) {
        continue;
      }
      if (line.endsWith("\\")) {
        current.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      current.append(line);
      String joined = current.toString().replaceAll("\\s+", " ").trim();
      if (!joined.isEmpty()) {
        out.add(joined);
      }
      current.setLength(0);
    }
    return out;
  }

  private static String last(List<String> lines, String prefix) {
    return lines.stream().filter(l -> l.startsWith(prefix)).reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError("Dockerfile has no " + prefix.trim()));
  }

  private static Path findRepoRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isDirectory(dir.resolve("kubernetes"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("no kubernetes/ directory above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
