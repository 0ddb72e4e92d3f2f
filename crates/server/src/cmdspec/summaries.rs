//! One-line summaries of the commands for COMMAND DOCS, written by us (the
//! facts of a command live in its spec; the prose here is our own). A command
//! without an entry reports an empty summary.

static SUMMARIES: &[(&str, &str)] = &[
    // connection
    ("auth", "Logs the connection in as a user."),
    ("client", "Container for the commands that inspect and steer connections."),
    ("client|caching", "Tells tracking whether the next read command's keys should be tracked."),
    ("client|getname", "Returns the name given to this connection."),
    ("client|getredir", "Returns the id of the connection that receives this one's invalidations."),
    ("client|help", "Lists the CLIENT subcommands."),
    ("client|id", "Returns this connection's numeric id."),
    ("client|info", "Describes this connection in CLIENT LIST's format."),
    ("client|kill", "Closes the connections that match an address or a set of filters."),
    ("client|list", "Describes every connection, one line each."),
    ("client|no-evict", "Exempts this connection from client eviction, or ends the exemption."),
    ("client|no-touch", "Keeps this connection's reads from updating the last access time of keys."),
    ("client|pause", "Holds back the commands of all clients, or only writes, for a while."),
    ("client|reply", "Turns the server's replies to this connection on or off, or skips the next one."),
    ("client|setinfo", "Records the name or version of the client library in use."),
    ("client|setname", "Gives this connection a name."),
    ("client|tracking", "Turns client-side caching invalidations on or off for this connection."),
    ("client|trackinginfo", "Describes this connection's client-side caching settings."),
    ("client|unblock", "Wakes up a connection waiting in a blocking command."),
    ("client|unpause", "Lets paused clients run again."),
    ("echo", "Replies with its argument."),
    ("hello", "Picks the protocol version and optionally authenticates and names the connection."),
    ("ping", "Checks the connection is alive; replies PONG or its argument."),
    ("quit", "Closes the connection once the reply is sent."),
    ("reset", "Brings the connection back to its initial state."),
    ("select", "Switches the connection to another logical database."),
    // server
    ("command", "Describes every command of the server."),
    ("command|count", "Returns how many commands the server has."),
    ("command|docs", "Returns documentation about commands."),
    ("command|getkeys", "Extracts the key names from a full command line."),
    ("command|getkeysandflags", "Extracts the key names from a full command line, with how each is accessed."),
    ("command|help", "Lists the COMMAND subcommands."),
    ("command|info", "Describes the named commands."),
    ("command|list", "Returns the names of the commands, optionally filtered."),
    ("config", "Container for the commands that read and change settings."),
    ("config|get", "Returns the settings whose names match the patterns."),
    ("config|help", "Lists the CONFIG subcommands."),
    ("config|resetstat", "Zeroes the statistics INFO reports."),
    ("config|rewrite", "Saves the current settings into the configuration file."),
    ("config|set", "Changes one or more settings at run time, all or none."),
    ("dbsize", "Returns how many keys the current database holds."),
    ("debug", "Internal commands for testing and troubleshooting."),
    ("flushall", "Deletes every key of every database."),
    ("flushdb", "Deletes every key of the current database."),
    ("info", "Reports statistics and facts about the server, section by section."),
    ("lastsave", "Returns the Unix time of the last successful save to disk."),
    ("shutdown", "Stops the server, optionally saving first."),
    ("swapdb", "Exchanges the contents of two databases."),
    ("time", "Returns the server's clock as seconds and microseconds."),
    // generic
    ("del", "Deletes keys."),
    ("exists", "Counts how many of the given keys exist."),
    ("type", "Returns the type of the value at a key."),
    // string
    ("get", "Returns the string value of a key."),
    ("set", "Stores a string at a key, with optional conditions, expiry and return of the old value."),
];

/// Our summary of a command (`get`, `config|get`); empty if we have none.
pub fn summary(name: &str) -> &'static str {
    SUMMARIES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or("")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_and_unique() {
        let mut names: Vec<&str> = super::SUMMARIES.iter().map(|(n, _)| *n).collect();
        let before = names.len();
        names.sort();
        names.dedup();
        assert_eq!(before, names.len(), "a summary is listed twice");
        assert_eq!(super::summary("nosuch"), "");
    }
}
