import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

/**
 * Runs Flink SQL files the way the SQL client would, without the SQL gateway (whose jar the
 * PyPI distribution lacks): SET changes the configuration, every other DDL statement is
 * executed in order. ${NAME} is replaced by the environment variable NAME.
 *
 * <p>The SET statements that come before the first other statement form the configuration the
 * TableEnvironment is created with (settings applied later may not reach the executor); later
 * SETs change the table configuration.
 *
 * <ul>
 *   <li>{@code batch}, {@code streaming}: in a local mini-cluster (tests), parallelism 1 and UTC
 *       unless SET otherwise; every INSERT joins one statement set that runs as a single job,
 *       and the runner waits for it.
 *   <li>{@code submit}: detached submission to a session cluster (the SETs must give
 *       {@code rest.address} and {@code rest.port}; {@code execution.target} is {@code remote}),
 *       one job per INSERT as the SQL client does, named after its sink table. An INSERT whose
 *       job is already running (or starting) on the cluster is skipped, so submitting twice
 *       does not double the jobs. Exits 0 once the JobManager has accepted every job, 1 on any
 *       failure.
 * </ul>
 *
 * Usage: KlgSqlRunner batch|streaming|submit file.sql...
 */
public final class KlgSqlRunner {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Z0-9_]+)}");
    /** The SQL client's SET statement, which TableEnvironment.executeSql does not take. */
    private static final Pattern SET = Pattern.compile("(?is)^SET\\s+'([^']+)'\\s*=\\s*'([^']*)'$");
    /** The sink table of an INSERT statement. */
    private static final Pattern INSERT = Pattern.compile("(?is)^INSERT\\s+INTO\\s+`?([A-Za-z0-9_.]+)`?\\s.*");

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        List<String> statements = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            statements.addAll(statements(substitute(Files.readString(Path.of(args[i])))));
        }
        switch (mode) {
            case "batch", "streaming" -> runLocally(mode, statements);
            case "submit" -> {
                int status = 0;
                try {
                    submit(statements);
                } catch (Throwable e) {
                    e.printStackTrace();
                    status = 1;
                }
                // The cluster client leaves non-daemon threads behind.
                System.exit(status);
            }
            default -> {
                System.err.println("usage: KlgSqlRunner batch|streaming|submit file.sql...");
                System.exit(2);
            }
        }
    }

    /** The leading SET statements as a configuration; removes them from {@code statements}. */
    private static Configuration leadingSettings(List<String> statements, Configuration conf) {
        while (!statements.isEmpty()) {
            Matcher set = SET.matcher(statements.get(0));
            if (!set.matches()) {
                break;
            }
            conf.setString(set.group(1), set.group(2));
            statements.remove(0);
        }
        return conf;
    }

    private static void runLocally(String mode, List<String> statements) throws Exception {
        Configuration defaults = new Configuration();
        defaults.setString("parallelism.default", "1");
        defaults.setString("table.local-time-zone", "UTC");
        Configuration conf = leadingSettings(statements, defaults);
        EnvironmentSettings.Builder settings = EnvironmentSettings.newInstance().withConfiguration(conf);
        TableEnvironment tables = TableEnvironment.create(
                "batch".equals(mode) ? settings.inBatchMode().build() : settings.inStreamingMode().build());
        StatementSet inserts = tables.createStatementSet();
        int insertCount = 0;
        for (String statement : statements) {
            Matcher set = SET.matcher(statement);
            if (set.matches()) {
                tables.getConfig().set(set.group(1), set.group(2));
            } else if (statement.regionMatches(true, 0, "INSERT", 0, 6)) {
                inserts.addInsertSql(statement);
                insertCount++;
            } else {
                tables.executeSql(statement).await();
            }
        }
        if (insertCount > 0) {
            inserts.execute().await();
        }
    }

    private static void submit(List<String> statements) throws Exception {
        Configuration conf = leadingSettings(statements, new Configuration());
        if (!conf.contains(DeploymentOptions.TARGET)) {
            conf.set(DeploymentOptions.TARGET, "remote");
        }
        if (!"remote".equals(conf.get(DeploymentOptions.TARGET))) {
            throw new IllegalArgumentException("submit needs execution.target remote, not " + conf.get(DeploymentOptions.TARGET));
        }
        if (!conf.contains(RestOptions.ADDRESS) || !conf.contains(RestOptions.PORT)) {
            throw new IllegalArgumentException("submit needs SET 'rest.address' and SET 'rest.port' (the JobManager)");
        }
        Set<String> running = runningJobs(conf);
        TableEnvironment tables = TableEnvironment.create(
                EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(conf).build());
        String cluster = conf.get(RestOptions.ADDRESS) + ":" + conf.get(RestOptions.PORT);
        for (String statement : statements) {
            Matcher set = SET.matcher(statement);
            Matcher insert = INSERT.matcher(statement);
            if (set.matches()) {
                tables.getConfig().set(set.group(1), set.group(2));
            } else if (statement.regionMatches(true, 0, "INSERT", 0, 6)) {
                if (!insert.matches()) {
                    throw new IllegalArgumentException("cannot tell the sink table of: " + statement);
                }
                String name = insert.group(1);
                if (running.contains(name)) {
                    System.out.println("job " + name + " already runs on " + cluster + ": not submitted again");
                    continue;
                }
                tables.getConfig().set(PipelineOptions.NAME, name);
                TableResult result = tables.executeSql(statement);
                String id = result.getJobClient().map(job -> job.getJobID().toString()).orElseThrow();
                System.out.println("submitted job " + name + " to " + cluster + " as " + id);
            } else {
                tables.executeSql(statement).await();
            }
        }
    }

    /** Names of the jobs on the cluster that are not finished, failed or cancelled. */
    private static Set<String> runningJobs(Configuration conf) throws Exception {
        try (RestClusterClient<StandaloneClusterId> client =
                new RestClusterClient<>(conf, StandaloneClusterId.getInstance())) {
            return client.listJobs().get(60, TimeUnit.SECONDS).stream()
                    .filter(job -> !job.getJobState().isGloballyTerminalState())
                    .map(JobStatusMessage::getJobName)
                    .collect(Collectors.toSet());
        }
    }

    private static String substitute(String sql) {
        Map<String, String> env = System.getenv();
        Matcher m = VARIABLE.matcher(sql);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value = env.get(m.group(1));
            if (value == null) {
                throw new IllegalArgumentException("environment variable " + m.group(1) + " is not set");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        return m.appendTail(out).toString();
    }

    /** Statements end with ';' at the end of a line; lines starting with -- are comments. */
    private static List<String> statements(String sql) {
        List<String> result = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : sql.split("\n")) {
            if (line.strip().startsWith("--")) {
                continue;
            }
            current.append(line).append('\n');
            if (line.strip().endsWith(";")) {
                String statement = current.toString().strip();
                result.add(statement.substring(0, statement.length() - 1));
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) {
            result.add(current.toString().strip());
        }
        return result;
    }
}
