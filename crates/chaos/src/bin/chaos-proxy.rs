//! `chaos-proxy`: the fault-injection proxy as a standalone tool.
//!
//! ```text
//! chaos-proxy --upstream 127.0.0.1:9443 [--listen 127.0.0.1:0] [--seed 0]
//! ```
//!
//! It prints `listening on ADDR`, then reads one command per line on
//! standard input and answers each with one line (`ok …` or `error: …`):
//!
//! | command | does |
//! |---|---|
//! | `latency BASE [JITTER] [DIR]` | add latency (`200ms`, `1s`), jitter up to `JITTER` |
//! | `bandwidth BYTES_PER_SEC [DIR]` | limit the rate |
//! | `blackhole [DIR]` | forward nothing, keep the sockets |
//! | `slice MAX_CHUNK [DELAY] [DIR]` | write in pieces of at most `MAX_CHUNK` bytes |
//! | `half-close [DIR]` | shut down the write half toward that direction's receiver |
//! | `refuse` | reset new connections |
//! | `reset` | reset open and new connections until cleared |
//! | `reset-all` | reset open connections once |
//! | `clear [ID]` | clear one fault, or all |
//! | `faults` | list active faults |
//! | `counters` | the counters, as JSON |
//! | `quit` | stop |
//!
//! `DIR` is `up`, `down` or `both` (the default). When standard input ends
//! the proxy keeps running until Ctrl-C. Exit codes: 0 after `quit` or
//! Ctrl-C, 2 for bad arguments, 1 when the proxy cannot start.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chaos::{Direction, Fault, Proxy, ProxyConfig};
use tokio::io::{AsyncBufReadExt as _, BufReader};

const USAGE: &str = "usage: chaos-proxy --upstream ADDR [--listen ADDR] [--seed N]";

fn parse_args(args: &[String]) -> Result<ProxyConfig, String> {
    let mut listen: Option<SocketAddr> = None;
    let mut upstream: Option<SocketAddr> = None;
    let mut seed = 0;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        let addr = |text: &String| {
            text.parse::<SocketAddr>()
                .map_err(|_| format!("{flag}: {text:?} is not an address like 127.0.0.1:9443"))
        };
        match flag.as_str() {
            "--listen" => listen = Some(addr(value()?)?),
            "--upstream" => upstream = Some(addr(value()?)?),
            "--seed" => {
                let text = value()?;
                seed = text
                    .parse()
                    .map_err(|_| format!("--seed: {text:?} is not a number"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream is required\n{USAGE}"))?;
    let mut config = ProxyConfig::new(upstream);
    config.seed = seed;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    Ok(config)
}

fn direction(word: Option<&str>) -> Result<Direction, String> {
    match word {
        None | Some("both") => Ok(Direction::Both),
        Some("up" | "upstream") => Ok(Direction::Upstream),
        Some("down" | "downstream") => Ok(Direction::Downstream),
        Some(other) => Err(format!("{other:?} is not a direction (up, down, both)")),
    }
}

fn duration(word: Option<&str>, what: &str) -> Result<Duration, String> {
    let word = word.ok_or_else(|| format!("{what} is missing"))?;
    humantime::parse_duration(word).map_err(|e| format!("{what} {word:?}: {e}"))
}

fn number<T: std::str::FromStr>(word: Option<&str>, what: &str) -> Result<T, String> {
    let word = word.ok_or_else(|| format!("{what} is missing"))?;
    word.parse()
        .map_err(|_| format!("{what} {word:?} is not a number"))
}

/// What a command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Set(Fault),
    ResetAll,
    Clear(Option<u64>),
    Faults,
    Counters,
    Quit,
}

fn parse_command(line: &str) -> Result<Command, String> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    let name = if words.is_empty() {
        ""
    } else {
        words.remove(0)
    };
    // A trailing direction word is optional everywhere it applies.
    let dir = match words.last() {
        Some(&last) if direction(Some(last)).is_ok() => {
            words.pop();
            direction(Some(last))?
        }
        _ => Direction::Both,
    };
    let word = |i: usize| words.get(i).copied();
    let optional_duration =
        |i: usize, what: &str| word(i).map_or(Ok(Duration::ZERO), |w| duration(Some(w), what));
    let fault = match name {
        "latency" => Fault::Latency {
            base: duration(word(0), "latency")?,
            jitter: optional_duration(1, "jitter")?,
            direction: dir,
        },
        "bandwidth" => Fault::Bandwidth {
            bytes_per_sec: number(word(0), "bytes per second")?,
            direction: dir,
        },
        "blackhole" => Fault::Blackhole { direction: dir },
        "slice" => Fault::Slice {
            max_chunk: number(word(0), "max chunk")?,
            delay: optional_duration(1, "delay")?,
            direction: dir,
        },
        "half-close" => Fault::HalfClose { direction: dir },
        "refuse" => Fault::Refuse,
        "reset" => Fault::Reset,
        "reset-all" => return Ok(Command::ResetAll),
        "clear" => {
            return word(0)
                .map(|w| number(Some(w), "fault id"))
                .transpose()
                .map(Command::Clear);
        }
        "faults" => return Ok(Command::Faults),
        "counters" => return Ok(Command::Counters),
        "quit" | "exit" => return Ok(Command::Quit),
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok(Command::Set(fault))
}

fn run(proxy: &Proxy, line: &str) -> Result<Option<String>, String> {
    Ok(Some(match parse_command(line)? {
        Command::Set(fault) => {
            let id = proxy.set_fault(fault).map_err(|e| e.to_string())?;
            format!("ok fault {} {fault}", id.get())
        }
        Command::ResetAll => {
            proxy.reset_all();
            "ok reset".to_owned()
        }
        Command::Clear(None) => {
            proxy.clear_faults();
            "ok cleared".to_owned()
        }
        Command::Clear(Some(wanted)) => {
            let found = proxy
                .active_faults()
                .into_iter()
                .find(|(id, _)| id.get() == wanted);
            match found {
                Some((id, _)) if proxy.clear_fault(id) => format!("ok cleared {wanted}"),
                _ => return Err(format!("no active fault {wanted}")),
            }
        }
        Command::Faults => {
            let list: Vec<String> = proxy
                .active_faults()
                .into_iter()
                .map(|(id, fault)| format!("{} {fault}", id.get()))
                .collect();
            format!("ok {}", list.join("; "))
        }
        Command::Counters => serde_json::to_string(&proxy.counters()).map_err(|e| e.to_string())?,
        Command::Quit => return Ok(None),
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("chaos-proxy: {message}");
            return ExitCode::from(2);
        }
    };
    let proxy = match Proxy::start(config).await {
        Ok(proxy) => proxy,
        Err(error) => {
            eprintln!("chaos-proxy: {error}");
            return ExitCode::from(1);
        }
    };
    println!("listening on {} -> {}", proxy.addr(), proxy.upstream());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => match run(&proxy, &line) {
                    Ok(Some(answer)) => println!("{answer}"),
                    Ok(None) => break,
                    Err(message) => println!("error: {message}"),
                },
                // Standard input ended (or cannot be read): serve until Ctrl-C.
                Ok(None) | Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    break;
                }
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    proxy.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn arguments() {
        let config = parse_args(&args("--upstream 127.0.0.1:9443 --seed 7")).unwrap();
        assert_eq!(config.upstream.port(), 9443);
        assert_eq!(config.seed, 7);
        assert!(
            parse_args(&args("--listen 127.0.0.1:1"))
                .unwrap_err()
                .contains("--upstream")
        );
        assert!(
            parse_args(&args("--upstream nowhere"))
                .unwrap_err()
                .contains("not an address")
        );
        assert!(
            parse_args(&args("--upstream"))
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_args(&args("--bogus"))
                .unwrap_err()
                .contains("unknown argument")
        );
    }

    #[test]
    fn commands() {
        let ms = Duration::from_millis;
        assert_eq!(
            parse_command("latency 200ms 50ms down").unwrap(),
            Command::Set(Fault::Latency {
                base: ms(200),
                jitter: ms(50),
                direction: Direction::Downstream
            })
        );
        assert_eq!(
            parse_command("latency 1s").unwrap(),
            Command::Set(Fault::Latency {
                base: ms(1000),
                jitter: ms(0),
                direction: Direction::Both
            })
        );
        assert_eq!(
            parse_command("slice 10 up").unwrap(),
            Command::Set(Fault::Slice {
                max_chunk: 10,
                delay: ms(0),
                direction: Direction::Upstream
            })
        );
        assert_eq!(
            parse_command("bandwidth 1000").unwrap(),
            Command::Set(Fault::Bandwidth {
                bytes_per_sec: 1000,
                direction: Direction::Both
            })
        );
        assert_eq!(parse_command("clear 3").unwrap(), Command::Clear(Some(3)));
        assert_eq!(parse_command("clear").unwrap(), Command::Clear(None));
        assert_eq!(parse_command("reset-all").unwrap(), Command::ResetAll);
        assert!(
            parse_command("latency fast")
                .unwrap_err()
                .contains("latency")
        );
        assert!(
            parse_command("warp 9")
                .unwrap_err()
                .contains("unknown command")
        );
    }
}
