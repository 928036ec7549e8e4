import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Runs Flink SQL files the way the SQL client would, without the SQL gateway (whose jar the
 * PyPI distribution lacks): SET changes the configuration, every other DDL statement is
 * executed in order, every INSERT joins one
 * statement set that runs as a single job. ${NAME} is replaced by the environment variable NAME.
 *
 * Usage: KlgSqlRunner batch|streaming file.sql...
 */
public final class KlgSqlRunner {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Z0-9_]+)}");
    /** The SQL client's SET statement, which TableEnvironment.executeSql does not take. */
    private static final Pattern SET = Pattern.compile("(?is)^SET\\s+'([^']+)'\\s*=\\s*'([^']*)'$");

    public static void main(String[] args) throws Exception {
        EnvironmentSettings settings = "batch".equals(args[0])
                ? EnvironmentSettings.inBatchMode()
                : EnvironmentSettings.inStreamingMode();
        TableEnvironment tables = TableEnvironment.create(settings);
        tables.getConfig().set("parallelism.default", "1");
        tables.getConfig().set("table.local-time-zone", "UTC");
        StatementSet inserts = tables.createStatementSet();
        int insertCount = 0;
        for (int i = 1; i < args.length; i++) {
            for (String statement : statements(substitute(Files.readString(Path.of(args[i]))))) {
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
        }
        if (insertCount > 0) {
            inserts.execute().await();
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
