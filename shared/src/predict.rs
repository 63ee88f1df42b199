//! Predict, then measure: one question per lab, asked before a live run, answered by a figure of the run (a
//! metric, or the ratio of two) falling into one of the offered ranges. The page records the reader's choice,
//! and once a measured run is there shows the prediction beside what the machine did, with why. Pure, so the
//! questions are checked against every lab's real metric keys.

use crate::LabId;
use crate::trace::Metric;

/// The figure a question is about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Metric(&'static str),
    /// The first metric divided by the second.
    Ratio(&'static str, &'static str),
}

/// One offered answer: the figure is below `below` (and not below the previous answer's bound).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    pub label: &'static str,
    pub below: f64,
}

#[derive(Debug)]
pub struct Question {
    pub id: &'static str,
    pub prompt: &'static str,
    pub figure: Figure,
    /// In increasing order of their bounds; the last one's bound is infinity.
    pub answers: &'static [Answer],
    /// Why the answer comes out as it does, said after the run.
    pub why: &'static str,
}

impl Question {
    /// The figure in a run's metrics, if the run has it.
    pub fn value(&self, metrics: &[Metric]) -> Option<f64> {
        let get = |key: &str| metrics.iter().find(|m| m.key == key).and_then(|m| m.value);
        match self.figure {
            Figure::Metric(key) => get(key),
            Figure::Ratio(top, bottom) => match (get(top), get(bottom)) {
                (Some(top), Some(bottom)) if bottom > 0.0 => Some(top / bottom),
                _ => None,
            },
        }
    }

    /// Which answer a value is.
    pub fn answer_for(&self, value: f64) -> usize {
        self.answers.iter().position(|a| value < a.below).unwrap_or(self.answers.len().saturating_sub(1))
    }
}

const INF: f64 = f64::INFINITY;

/// The questions of a lab.
pub fn questions(lab: LabId) -> &'static [Question] {
    match lab {
        LabId::Lock => &[Question {
            id: "tail",
            prompt: "With these settings, how many times longer will the unluckiest 1 % of waits (p99) be than the \
                     typical wait (p50)?",
            figure: Figure::Ratio("wait_p99", "wait_p50"),
            answers: &[
                Answer { label: "Under 2×: waits are even", below: 2.0 },
                Answer { label: "2× to 5×", below: 5.0 },
                Answer { label: "5× to 20×", below: 20.0 },
                Answer { label: "Over 20×: a long tail", below: INF },
            ],
            why: "A waiter's wait is the sum of the holds ahead of it in the queue: with N processes the unlucky \
                  ones find N − 1 holders before them, the lucky ones none. Non-blocking retries add their interval \
                  on top, and the scheduler decides which blocked waiter wakes first, so the tail grows with \
                  contention rather than with the hold time.",
        }],
        LabId::Mmap => &[Question {
            id: "mmap_vs_read",
            prompt: "Reading the whole file in order: will mapping it be faster or slower than read(2) with a 64 KiB \
                     buffer?",
            figure: Figure::Ratio("mmap_seq_gbps", "read_64k_gbps"),
            answers: &[
                Answer { label: "Slower (under 0.8×)", below: 0.8 },
                Answer { label: "About the same (0.8× to 1.25×)", below: 1.25 },
                Answer { label: "Faster (over 1.25×)", below: INF },
            ],
            why: "read(2) copies every byte from the page cache into your buffer, one system call per 64 KiB; the \
                  mapping copies nothing but pays a page fault for each group of pages it touches first. Which \
                  cost is larger depends on the kernel's fault-around, the page size and the memory bandwidth.",
        }],
        LabId::Watch => &[Question {
            id: "poll_cost",
            prompt: "How many times more CPU will the poller spend than the inotify watcher to notice the same \
                     changes?",
            figure: Figure::Metric("poll_cpu_ratio"),
            answers: &[
                Answer { label: "Under 2×", below: 2.0 },
                Answer { label: "2× to 10×", below: 10.0 },
                Answer { label: "10× to 50×", below: 50.0 },
                Answer { label: "Over 50×", below: INF },
            ],
            why: "The poller stats every file on every pass whether anything changed or not, so its cost grows with \
                  the number of files divided by the interval; inotify costs something only when a file changes.",
        }],
        LabId::Io => &[Question {
            id: "polling_cost",
            prompt: "How many times more CPU per message will the non-blocking polling loop spend than epoll?",
            figure: Figure::Ratio("polling_cpu_per_msg", "epoll_cpu_per_msg"),
            answers: &[
                Answer { label: "About the same (under 1.5×)", below: 1.5 },
                Answer { label: "1.5× to 5×", below: 5.0 },
                Answer { label: "Over 5×", below: INF },
            ],
            why: "The polling loop asks every source again and again and is told EAGAIN almost every time: it keeps \
                  a CPU busy while nothing arrives. epoll sleeps in the kernel until a source is ready, so its CPU \
                  goes to the messages themselves.",
        }],
        LabId::Methods => &[Question {
            id: "process_vs_thread",
            prompt: "How many times longer will starting a process take than starting a thread on this machine?",
            figure: Figure::Metric("process_per_thread"),
            answers: &[
                Answer { label: "Under 3×", below: 3.0 },
                Answer { label: "3× to 10×", below: 10.0 },
                Answer { label: "10× to 30×", below: 30.0 },
                Answer { label: "Over 30×", below: INF },
            ],
            why: "A new thread shares its parent's address space: the kernel makes a stack and a task. A new process \
                  gets its own address space and here also executes a program (fork/exec or posix_spawn, then the \
                  dynamic loader), which costs far more.",
        }],
        LabId::Amdahl => &[Question {
            id: "two_threads",
            prompt: "How much faster will 2 threads run this workload than 1 thread?",
            figure: Figure::Metric("speedup_2"),
            answers: &[
                Answer { label: "Hardly (under 1.3×)", below: 1.3 },
                Answer { label: "1.3× to 1.7×", below: 1.7 },
                Answer { label: "1.7× to 1.95×", below: 1.95 },
                Answer { label: "Almost twice (1.95× or more)", below: INF },
            ],
            why: "Only the parallel part is shared out: with a parallel fraction p, 2 threads give 1 / ((1 − p) + \
                  p/2) at best. A real machine also pays for starting and joining the threads, and another busy \
                  process can take one of the cores.",
        }],
        LabId::Pipeline => &[Question {
            id: "order",
            prompt: "Will the items come out in the order they were started?",
            figure: Figure::Metric("out_of_order"),
            answers: &[
                Answer { label: "Yes, all in order", below: 0.5 },
                Answer { label: "No, some overtake others", below: INF },
            ],
            why: "With more than one worker, an item that takes less time overtakes one started earlier; only a \
                  single worker, or the start-order preset (a channel of channels, read in start order), keeps the \
                  order.",
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamSet;

    #[test]
    fn every_question_is_answered_by_its_labs_own_metrics() {
        for lab in LabId::ALL {
            assert!(!questions(lab).is_empty(), "{lab:?} has no question");
            let trace = crate::lab::simulate(lab, &ParamSet::new(), 1).unwrap_or_else(|e| panic!("{e}"));
            let metrics = crate::lab::metrics(&trace);
            for q in questions(lab) {
                let value = q.value(&metrics).unwrap_or_else(|| panic!("{lab:?}/{}: no figure", q.id));
                assert!(q.answer_for(value) < q.answers.len());
                assert!(q.answers.windows(2).all(|w| w[0].below < w[1].below), "{}: bounds in order", q.id);
                assert_eq!(q.answers.last().map(|a| a.below), Some(INF), "{}: the last answer is open", q.id);
            }
        }
    }

    #[test]
    fn values_fall_into_the_answer_whose_range_holds_them() {
        let q = &questions(LabId::Amdahl)[0];
        assert_eq!(q.answer_for(1.0), 0);
        assert_eq!(q.answer_for(1.3), 1);
        assert_eq!(q.answer_for(1.94), 2);
        assert_eq!(q.answer_for(2.0), 3);
    }
}
